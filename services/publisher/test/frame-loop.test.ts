/**
 * The frame loop and its pure helpers, in process with a scripted source and a recording sink (no
 * OpenCV, no broker): which frames go out (pacing, pause, snapshots), the snapshot requests and
 * the timing sums behind the "pipeline stats" log.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameLoop, type FrameSink } from '../src/frame-loop.js';
import { FrameTimings } from '../src/frame-timings.js';
import { LiveSettings, type StreamSettings } from '../src/live-settings.js';
import { SnapshotRequests, type SnapshotResult } from '../src/snapshot-requests.js';
import type { FrameSource, Grab, SourceInfo } from '../src/sources/frame-source.js';

/** A source whose frames carry the grab times `times` gives (or the real clock), and which fails after `frames` reads. */
class ScriptedSource implements FrameSource {
  readonly description = 'scripted';
  readonly maxFps = undefined;
  reads = 0;
  private readonly readWaiters: Array<() => void> = [];

  constructor(
    readonly live: boolean,
    private readonly frames = Infinity,
    private readonly times: (index: number) => number = () => performance.now(),
  ) {}

  open(): Promise<SourceInfo> {
    return Promise.resolve({ width: 320, height: 240, fps: 30 });
  }

  read(): Promise<Grab> {
    const index = this.reads;
    this.reads += 1;
    for (const waiter of this.readWaiters.splice(0)) waiter();
    if (index >= this.frames) return Promise.reject(new Error('scripted end'));
    return Promise.resolve({ captureTime: Date.now(), grabbedAt: this.times(index) });
  }

  close(): void {}

  /** Resolves once `count` reads happened in all. */
  async readsReach(count: number): Promise<void> {
    while (this.reads < count) await new Promise<void>((resolve) => this.readWaiters.push(resolve));
  }
}

class RecordingSink implements FrameSink {
  readonly frames: Grab[] = [];
  readonly snapshots: Grab[] = [];

  frame(grab: Grab): Promise<void> {
    this.frames.push(grab);
    return Promise.resolve();
  }

  snapshot(grab: Grab, answer: (result: SnapshotResult) => void): Promise<void> {
    this.snapshots.push(grab);
    answer({ seq: this.snapshots.length });
    return Promise.resolve();
  }
}

function loopParts(source: FrameSource, settings: Partial<StreamSettings> = {}, fpsCap = Infinity) {
  return {
    source,
    settings: new LiveSettings({ fps: 15, quality: 70, width: 320, height: 240, paused: false, ...settings }),
    snapshots: new SnapshotRequests(),
    timings: new FrameTimings(),
    sink: new RecordingSink(),
    fpsCap,
  };
}

test('a live source is read at its own pace and only the due frames go out: 30 fps asked for 15 gives every other frame', async () => {
  const source = new ScriptedSource(true, 60, (i) => 1000 + i * (1000 / 30));
  const parts = loopParts(source, { fps: 15 });
  const delivering: number[] = [];
  await assert.rejects(
    new FrameLoop(parts).read(new AbortController().signal, () => delivering.push(source.reads)),
    /scripted end/,
  );
  assert.equal(source.reads, 61, 'every frame the source had was read');
  assert.equal(parts.sink.frames.length, 30);
  assert.deepEqual(delivering, [1], 'delivering once, after the first read');
  const timings = parts.timings.take();
  assert.equal(timings.reads, 60, 'the failed read is not counted');
  assert.deepEqual(parts.timings.take().reads, 0, 'take() starts the sums again');
});

test('MQTT_MAX_MESSAGES_PER_S caps the rate below the asked fps', async () => {
  const source = new ScriptedSource(true, 60, (i) => i * (1000 / 30));
  const parts = loopParts(source, { fps: 30 }, 10);
  await assert.rejects(new FrameLoop(parts).read(new AbortController().signal, () => undefined));
  assert.equal(parts.sink.frames.length, 20);
});

test('a paced source is asked for a frame only when one is due', async () => {
  const source = new ScriptedSource(false, 6);
  const parts = loopParts(source, { fps: 50 });
  await assert.rejects(new FrameLoop(parts).read(new AbortController().signal, () => undefined));
  const grabbed = parts.sink.frames.map((grab) => grab.grabbedAt);
  assert.equal(grabbed.length, 6);
  // Frame i is due 20 i ms after the first (a timer may fire up to 1 ms early, or late under load;
  // a late one is made up by the next, so only the lower bound holds).
  for (let i = 1; i < grabbed.length; i++) {
    const after = grabbed[i]! - grabbed[0]!;
    assert.ok(after >= i * 20 - 2, `frame ${i} asked for ${after.toFixed(1)} ms after the first`);
  }
});

test('paused: a paced source is not read at all; a snapshot request wakes it for one frame; stop ends the wait', async () => {
  const source = new ScriptedSource(false);
  const parts = loopParts(source, { paused: true });
  const abort = new AbortController();
  const running = new FrameLoop(parts).read(abort.signal, () => undefined);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(source.reads, 0);

  const first = parts.snapshots.request();
  assert.equal(parts.snapshots.request(), first, 'a second request before the frame shares the first');
  assert.deepEqual(await first, { seq: 1 });
  assert.equal(parts.sink.snapshots.length, 1);
  assert.deepEqual(parts.sink.frames, [], 'the snapshot is not sent as a frame too');
  assert.equal(source.reads, 1);
  assert.equal(parts.snapshots.pending, false);

  parts.settings.apply({ paused: false });
  await source.readsReach(3);
  assert.ok(parts.sink.frames.length >= 1, 'resumed');
  abort.abort();
  await running;
});

test('paused: a live source is still read (so its buffers hold nothing stale), but nothing goes out but a snapshot', async () => {
  const source = new ScriptedSource(true);
  const parts = loopParts(source, { paused: true });
  const abort = new AbortController();
  const running = new FrameLoop(parts).read(abort.signal, () => undefined);
  await source.readsReach(20);
  assert.equal(parts.sink.frames.length, 0);
  assert.deepEqual(await parts.snapshots.request(), { seq: 1 });
  abort.abort();
  await running;
  assert.equal(parts.sink.frames.length, 0);
});

test('snapshot requests: cancel answers the waiting request with the reason, take() empties it', async () => {
  const requests = new SnapshotRequests();
  let woken = 0;
  requests.on('requested', () => (woken += 1));
  const result = requests.request();
  void requests.request();
  assert.equal(woken, 1, 'one wake-up per snapshot, however many asked');
  requests.cancel('publisher stopping');
  assert.deepEqual(await result, { error: 'publisher stopping' });
  assert.equal(requests.take(), undefined);
  requests.cancel('nothing waits: no effect');
});

test('frame timings add up per frame and per read', () => {
  const timings = new FrameTimings();
  timings.recordRead(4);
  timings.recordRead(6);
  timings.recordFrame({ passedThrough: true, encodeMs: 1, grabToOfferMs: 2 });
  timings.recordFrame({ passedThrough: false, encodeMs: 5, grabToOfferMs: 8 });
  assert.deepEqual(timings.take(), { reads: 2, grabMs: 10, frames: 2, passedThrough: 1, encodeMs: 6, grabToOfferMs: 10 });
  assert.deepEqual(timings.take(), { reads: 0, grabMs: 0, frames: 0, passedThrough: 0, encodeMs: 0, grabToOfferMs: 0 });
});
