/**
 * Reads an open source frame by frame and decides which frames go out: at most the asked fps
 * (Pacer), none while paused, and the next one as a snapshot when one is asked for. Strictly
 * sequential: never more than one read or encode in flight, so a slow encode or link costs
 * frames, never a queue. A paced source (file, test pattern) is read only when a frame is due; a
 * live one (camera, stream) is read continuously and the frames between due ones are dropped.
 */
import type { FrameTimings } from './frame-timings.js';
import type { LiveSettings } from './live-settings.js';
import { Pacer } from './pacer.js';
import type { SnapshotAnswer, SnapshotRequests } from './snapshot-requests.js';
import type { FrameSource, Grab } from './sources/frame-source.js';
import { aborted, pause } from './abortable-waits.js';

/** Where the chosen frames go; the loop releases each grab's pixels once the call returned. */
export interface FrameSink {
  frame(grab: Grab): Promise<void>;
  snapshot(grab: Grab, answer: SnapshotAnswer): Promise<void>;
}

export interface FrameLoopParts {
  source: FrameSource;
  settings: LiveSettings;
  snapshots: SnapshotRequests;
  timings: FrameTimings;
  sink: FrameSink;
  /** Most frames per second the broker takes from us (MQTT_MAX_MESSAGES_PER_S); Infinity: no cap. */
  fpsCap: number;
}

export class FrameLoop {
  private readonly pacer: Pacer;

  constructor(private readonly parts: FrameLoopParts) {
    this.pacer = new Pacer(Math.min(parts.settings.value.fps, parts.fpsCap));
  }

  /** Reads frames until the source fails (throws) or `signal` aborts; `delivering` after the first read. */
  async read(signal: AbortSignal, delivering: () => void): Promise<void> {
    const { source, settings, snapshots, timings, sink, fpsCap } = this.parts;
    const { pacer } = this;
    pacer.reset();
    let delivered = false;
    while (!signal.aborted) {
      const wanted = settings.value;
      pacer.setFps(Math.min(wanted.fps, source.maxFps ?? Infinity, fpsCap), performance.now());
      if (!source.live && !snapshots.pending) {
        if (wanted.paused) {
          await this.untilWoken(signal);
          pacer.reset();
          continue;
        }
        // A paced source makes its frame when asked, so ask only when one is due.
        if (!(await pause(pacer.delayUntilDue(performance.now()), signal))) return;
      }
      const readStart = performance.now();
      const grab = await source.read();
      timings.recordRead(performance.now() - readStart);
      if (!delivered) {
        delivered = true;
        delivering();
      }
      try {
        if (aborted(signal)) return;
        const snapshot = snapshots.take();
        if (snapshot) {
          await sink.snapshot(grab, snapshot);
          continue;
        }
        // A live source is read even while paused or between due frames: left unread, its buffers
        // would hand over stale frames later.
        if (source.live && (settings.value.paused || !pacer.isDue(grab.grabbedAt))) continue;
        pacer.advance(grab.grabbedAt);
        await sink.frame(grab);
      } finally {
        // The loop owns the frame's pixels. Freed here, the allocator hands the same memory to
        // the next frame; left to V8's GC (which does not see native memory), every frame lands in
        // fresh pages, and faulting in ~1 MB of them cost 2.6 ms per 640x480 frame on the bench
        // machine, more than the JPEG encode.
        grab.mat?.release();
      }
    }
  }

  /** While paused: returns on any settings change, a snapshot request or stop. */
  private async untilWoken(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const { settings, snapshots } = this.parts;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        settings.off('change', done);
        snapshots.off('requested', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      settings.on('change', done);
      snapshots.on('requested', done);
      signal.addEventListener('abort', done);
    });
  }
}
