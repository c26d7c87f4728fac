/**
 * The publisher's one frame loop: open the source (retrying with backoff), then grab -> resize
 * (only if the size differs) -> JPEG encode -> add the frame metadata -> hand to the
 * FramePublisher. Strictly sequential: never more than one grab/encode in flight, and every
 * OpenCV call that costs real time is the async (thread-pool) variant, so the event loop stays
 * free for MQTT.
 */
import { EventEmitter, once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import cv from '@u4/opencv4nodejs';
import { withFrameMeta } from '@camqtt/protocol';
import type { Logger } from 'pino';
import type { FramePublisher } from './frame-publisher.js';
import type { LiveSettings } from './live-settings.js';
import { Pacer } from './pacer.js';
import type { FrameSource, Grab, SourceInfo } from './sources/frame-source.js';

const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 10_000;

/** Running sums of per-frame costs, for the periodic debug log (ms). */
export interface PipelineTimings {
  reads: number;
  /** Time in source.read(), over all reads (a live source is read more often than published). */
  grabMs: number;
  /** Frames encoded and offered; the other sums are over these. */
  frames: number;
  resizeMs: number;
  encodeMs: number;
  /** Grab returned -> frame offered to the gate. */
  grabToOfferMs: number;
}

export class FramePipeline extends EventEmitter<{ opened: [info: SourceInfo]; failed: [error: string] }> {
  private abort = new AbortController();
  private running: Promise<void> | undefined;
  private readonly pacer: Pacer;
  private backoffMs = BACKOFF_FIRST_MS;
  private seq = 0;
  /** What the source delivers, while it is open. */
  sourceInfo: SourceInfo | undefined;
  /** Why the source is not delivering, while it is not. */
  error: string | undefined;
  timings: PipelineTimings = emptyTimings();

  constructor(
    readonly source: FrameSource,
    private readonly settings: LiveSettings,
    private readonly publisher: FramePublisher,
    private readonly camera: string,
    private readonly log: Logger,
  ) {
    super();
    this.pacer = new Pacer(settings.value.fps);
  }

  start(): void {
    this.abort = new AbortController();
    this.running = this.run(this.abort.signal);
  }

  /**
   * Stops the loop and releases the source. Resolves true once released, or false if a read was
   * still in flight after `timeoutMs` (the source is then left to the process exit).
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.abort.abort();
    const running = this.running;
    if (!running) return true;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      running.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return finished;
  }

  /** Takes and resets the per-frame cost sums. */
  takeTimings(): PipelineTimings {
    const taken = this.timings;
    this.timings = emptyTimings();
    return taken;
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        this.sourceInfo = await this.source.open();
      } catch (error) {
        this.failed(error);
        await this.backoff(signal);
        continue;
      }
      this.opened(this.sourceInfo);
      try {
        await this.pump(signal);
      } catch (error) {
        if (!signal.aborted) this.failed(error);
      } finally {
        this.source.close();
        this.sourceInfo = undefined;
      }
      if (!signal.aborted) await this.backoff(signal);
    }
  }

  /** Reads frames until the source fails (throws) or the pipeline stops. */
  private async pump(signal: AbortSignal): Promise<void> {
    const { source, pacer } = this;
    pacer.reset();
    let delivering = false;
    while (!signal.aborted) {
      const wanted = this.settings.value;
      pacer.setFps(Math.min(wanted.fps, source.maxFps ?? Infinity), performance.now());
      if (!source.live) {
        if (wanted.paused) {
          await this.untilResumed(signal);
          pacer.reset();
          continue;
        }
        // A paced source makes its frame when asked, so ask only when one is due.
        if (!(await pause(pacer.delayUntilDue(performance.now()), signal))) return;
      }
      const readStart = performance.now();
      const grab = await source.read();
      this.timings.reads += 1;
      this.timings.grabMs += performance.now() - readStart;
      if (!delivering) {
        delivering = true;
        this.backoffMs = BACKOFF_FIRST_MS;
      }
      if (signal.aborted) return;
      // A live source is read even while paused or between due frames: left unread, its buffers
      // would hand over stale frames later.
      if (source.live && (this.settings.value.paused || !pacer.isDue(grab.grabbedAt))) continue;
      pacer.advance(grab.grabbedAt);
      await this.publishFrame(grab);
    }
  }

  private async publishFrame(grab: Grab): Promise<void> {
    if (!this.publisher.connected) {
      // Nobody to send it to: skip the encode as well.
      this.publisher.dropOffline();
      return;
    }
    const { width, height, quality } = this.settings.value;
    let mat = grab.mat;
    const resizeStart = performance.now();
    if (mat.cols !== width || mat.rows !== height) mat = await mat.resizeAsync(height, width);
    const encodeStart = performance.now();
    const jpeg = await cv.imencodeAsync('.jpg', mat, [cv.IMWRITE_JPEG_QUALITY, quality]);
    const encodeEnd = performance.now();
    this.seq += 1;
    this.publisher.offer(withFrameMeta(jpeg, { camera: this.camera, seq: this.seq, captureTime: grab.captureTime }));
    const t = this.timings;
    t.frames += 1;
    t.resizeMs += encodeStart - resizeStart;
    t.encodeMs += encodeEnd - encodeStart;
    t.grabToOfferMs += performance.now() - grab.grabbedAt;
  }

  private async untilResumed(signal: AbortSignal): Promise<void> {
    while (this.settings.value.paused && !signal.aborted) {
      try {
        await once(this.settings, 'change', { signal });
      } catch {
        return; // aborted
      }
    }
  }

  private opened(info: SourceInfo): void {
    this.error = undefined;
    this.log.info({ source: this.source.description, ...info }, 'source opened');
    this.emit('opened', info);
  }

  private failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.error = message;
    this.log.error({ source: this.source.description, error: message, retryInMs: this.backoffMs }, 'source failed');
    this.emit('failed', message);
  }

  private async backoff(signal: AbortSignal): Promise<void> {
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    await pause(delay, signal);
  }
}

/** Waits `ms`; resolves false if aborted first. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

function emptyTimings(): PipelineTimings {
  return { reads: 0, frames: 0, grabMs: 0, resizeMs: 0, encodeMs: 0, grabToOfferMs: 0 };
}
