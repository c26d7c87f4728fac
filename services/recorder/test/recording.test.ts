/**
 * The recorder end to end with real parts: the bundled broker, a testsrc publisher, the recorder
 * process and ffprobe. 30 s of video whose frame rate changes and that pauses midway plays back at
 * true speed, with every frame published; a kill -9 leaves the open segment playable.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type ServiceProcess, stopAllProcesses, waitFor } from '@camqtt/test-support';
import { type Harness, probe, segmentEntries, segmentFiles, startHarness, startPublisher, startRecorder, Watcher } from './support.js';

const run = promisify(execFile);

describe('recording', () => {
  let dir: string;
  let harness: Harness;
  let watcher: Watcher;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'camqtt-recorder-'));
    harness = await startHarness(join(dir, 'provision'), ['cam1', 'cam2']);
    watcher = await Watcher.connect(harness);
  });

  after(async () => {
    await watcher?.close();
    await stopAllProcesses();
    await rm(dir, { recursive: true, force: true });
  });

  it('records 30 s with an fps change and a pause at true speed, every frame published, in one H.264 segment', async () => {
    const recordDir = join(dir, 'rec-h264');
    const recorder = await startRecorder(harness, recordDir, { RECORD_CAMERAS: 'cam1' });
    const publisher = startPublisher(harness, 'cam1');
    const frames = () => watcher.frames.filter((f) => f.camera === 'cam1');
    const first = await waitFor('the first frame', () => frames()[0], 20_000);
    const since = (ms: number) => () => frames().some((f) => f.captureTime - first.captureTime >= ms);
    await waitFor('10 s at 30 fps', since(10_000), 20_000);
    await watcher.control('cam1', { fps: 10 });
    await waitFor('10 s at 10 fps', since(20_000), 20_000);
    await watcher.control('cam1', { paused: true });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await watcher.control('cam1', { paused: false, fps: 30 });
    await waitFor('30 s of capture time', since(30_000), 20_000);
    await publisher.stop();
    // The camera's offline status ends the segment: its entry is appended.
    const [entry] = await waitFor('the segment entry', async () => {
      const entries = await segmentEntries(recordDir, 'cam1');
      return entries.length > 0 ? entries : undefined;
    });
    await recorder.stop();
    const published = frames().filter((f) => f.captureTime >= entry!.start);
    const files = await segmentFiles(recordDir, 'cam1');
    assert.equal(files.length, 1, 'one segment');
    const probed = await probe(files[0]!);
    assert.equal(probed.codec, 'h264');
    assert.deepEqual([probed.width, probed.height], [640, 480]);
    assert.equal(entry!.frames, published.length, 'the entry counts every frame published');
    assert.equal(probed.pts.length, published.length, 'the file holds every frame published');
    const span = (published.at(-1)!.captureTime - published[0]!.captureTime) / 1000;
    assert.ok(Math.abs(span - 30) < 0.5, `about 30 s of capture time (${span.toFixed(3)} s)`);
    assert.ok(Math.abs(probed.duration - 30) < 0.5, `plays 30 +- 0.5 s (${probed.duration} s)`);
    const pts = [...probed.pts].sort((a, b) => a - b);
    for (let index = 1; index < pts.length; index++) assert.ok(pts[index]! > pts[index - 1]!, `timestamps increase at ${index}`);
    // True speed: each frame plays at its capture time after the first, to the millisecond.
    const worst = Math.max(...published.map((f, index) => Math.abs(pts[index]! - (f.captureTime - published[0]!.captureTime) / 1000)));
    assert.ok(worst <= 0.002, `every frame at its capture time (worst ${worst.toFixed(4)} s off)`);
    const gaps = published.slice(1).map((f, index) => f.captureTime - published[index]!.captureTime);
    assert.ok(Math.max(...gaps) >= 1900, 'the pause is in the recording as time passing');
    assert.ok(gaps.filter((gap) => gap > 80 && gap < 130).length > 50, 'and the 10 fps stretch too');
  });

  it('leaves the open segment playable after a kill -9 of the recorder and its FFmpeg', async () => {
    const recordDir = join(dir, 'rec-kill');
    const recorder: ServiceProcess = await startRecorder(harness, recordDir, { RECORD_CAMERAS: 'cam2' });
    const publisher = startPublisher(harness, 'cam2');
    const first = await waitFor('a frame', () => watcher.frames.find((f) => f.camera === 'cam2'), 20_000);
    await waitFor(
      '5 s of frames',
      () => watcher.frames.some((f) => f.camera === 'cam2' && f.captureTime - first.captureTime > 5000),
      20_000,
    );
    const { stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(recorder.pid)]);
    const ffmpegPids = stdout.split('\n').map(Number).filter(Boolean);
    assert.ok(ffmpegPids.length > 0, 'FFmpeg runs under the recorder');
    for (const pid of [...ffmpegPids, recorder.pid!]) process.kill(pid, 'SIGKILL');
    await publisher.stop();
    const files = await segmentFiles(recordDir, 'cam2');
    assert.equal(files.length, 1);
    assert.deepEqual(await segmentEntries(recordDir, 'cam2'), [], 'no entry: the segment was never closed');
    const probed = await probe(files[0]!);
    assert.equal(probed.codec, 'h264');
    assert.ok(probed.pts.length > 90, `its finished fragments play (${probed.pts.length} frames)`);
    assert.ok(probed.duration > 3, `${probed.duration} s`);
  });
});
