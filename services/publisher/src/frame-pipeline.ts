/**
 * The publisher's one frame loop: open the source (retrying with backoff), then grab -> encode
 * (FrameEncoder: passthrough, or resize + overlay + JPEG) -> add the frame metadata -> hand to
 * the FramePublisher. Strictly sequential: never more than one grab/encode in flight. Live
 * sources are read in the capture helper process and every OpenCV call here that costs real time
 * is the async (thread-pool) variant, so the event loop stays free for MQTT.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { redactCredentials } from '@camqtt/wire';
import { type EncodeOptions, FrameEncoder } from './frame-encoder.js';
import type { FramePublisher } from './frame-publisher.js';
import type { LiveSettings, SettingsPatch } from './live-settings.js';
import { Pacer } from './pacer.js';
import { EndOfSourceError, type FrameSource, type Grab, type SourceInfo } from './sources/frame-source.js';

const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 10_000;

export interface PipelineOptions {
  camera: string;
  /** Most frames per second the broker takes from us (MQTT_MAX_MESSAGES_PER_S); Infinity: no cap. */
  fpsCap: number;
  /** CAPTURE_PASSTHROUGH */
  passthrough: boolean;
  /** VIDEO_OVERLAY */
  overlay: boolean;
  snapshotQuality: number;
  maxPayloadBytes: number;
}

/** Running sums of per-frame costs, for the periodic debug log (ms). */
export interface PipelineTimings {
  reads: number;
  /** Time in source.read(), over all reads (a live source is read more often than published). */
  grabMs: number;
  /** Frames encoded and offered; the other sums are over these. */
  frames: number;
  passedThrough: number;
  encodeMs: number;
  /** Grab returned -> frame offered to the gate. */
  grabToOfferMs: number;
}

export type SnapshotResult = { seq: number } | { error: string };

export class FramePipeline extends EventEmitter<{ opened: [info: SourceInfo]; failed: [error: string]; changed: []; wake: [] }> {
  private abort = new AbortController();
  private running: Promise<void> | undefined;
  private readonly pacer: Pacer;
  private readonly encoder: FrameEncoder;
  private backoffMs = BACKOFF_FIRST_MS;
  private seq = 0;
  /** A quality command came: the operator wants that quality, so no more passthrough. */
  private qualityCommanded = false;
  private snapshot: { resolve: (result: SnapshotResult) => void; promise: Promise<SnapshotResult> } | undefined;
  /** What the source delivers, while it is open. */
  sourceInfo: SourceInfo | undefined;
  /** Why the source is not delivering, while it is not. */
  error: string | undefined;
  timings: PipelineTimings = emptyTimings();

  constructor(
    readonly source: FrameSource,
    private readonly settings: LiveSettings,
    private readonly publisher: FramePublisher,
    private readonly options: PipelineOptions,
    private readonly log: Logger,
  ) {
    super();
    this.pacer = new Pacer(Math.min(settings.value.fps, options.fpsCap));
    this.encoder = new FrameEncoder(options.maxPayloadBytes);
  }

  /** Whether the last frame was the source's own JPEG, published as it came. */
  get passthrough(): boolean {
    return this.encoder.passthrough;
  }

  get encodeQuality(): number | undefined {
    return this.encoder.encodeQuality;
  }

  /** Why frames are worse (size cap) or smaller (small source) than asked, for the status. */
  get encoderWarnings(): string[] {
    return [this.encoder.warning, this.encoder.sizeWarning].filter((warning): warning is string => warning !== undefined);
  }

  start(): void {
    this.abort = new AbortController();
    this.settings.on('change', this.onSettingsChange);
    this.running = this.run(this.abort.signal);
  }

  /**
   * Stops the loop and releases the source (killing the capture helper if a read is stuck).
   * Resolves true once released, or false if the loop was still busy after `timeoutMs`.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.abort.abort();
    this.settings.off('change', this.onSettingsChange);
    this.snapshot?.resolve({ error: 'publisher stopping' });
    const running = this.running;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all([this.source.dispose?.(), running]).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return finished;
  }

  /** Sends the next frame as a snapshot (even while paused); resolves once it was published. */
  requestSnapshot(): Promise<SnapshotResult> {
    if (!this.snapshot) {
      let resolve!: (result: SnapshotResult) => void;
      const promise = new Promise<SnapshotResult>((r) => {
        resolve = r;
      });
      this.snapshot = { resolve, promise };
      this.emit('wake');
    }
    return this.snapshot.promise;
  }

  /** Takes and resets the per-frame cost sums. */
  takeTimings(): PipelineTimings {
    const taken = this.timings;
    this.timings = emptyTimings();
    return taken;
  }

  private readonly onSettingsChange = (changed: SettingsPatch): void => {
    if (changed.quality !== undefined) this.qualityCommanded = true;
    if (changed.quality !== undefined || changed.width !== undefined || changed.height !== undefined) this.encoder.reset();
  };

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        this.log.debug({ source: this.source.description }, 'opening source');
        this.sourceInfo = await this.source.open();
      } catch (error) {
        if (signal.aborted) break;
        this.failed(error);
        await this.backoff(signal);
        continue;
      }
      this.opened(this.sourceInfo);
      try {
        await this.pump(signal);
      } catch (error) {
        if (error instanceof EndOfSourceError) {
          this.ended(error, signal);
          await untilAborted(signal);
        } else if (!signal.aborted) {
          this.failed(error);
        }
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
      pacer.setFps(Math.min(wanted.fps, source.maxFps ?? Infinity, this.options.fpsCap), performance.now());
      if (!source.live && !this.snapshot) {
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
      this.timings.reads += 1;
      this.timings.grabMs += performance.now() - readStart;
      if (!delivering) {
        delivering = true;
        this.backoffMs = BACKOFF_FIRST_MS;
      }
      try {
        if (signal.aborted) return;
        if (this.snapshot) {
          await this.publishSnapshot(grab);
          continue;
        }
        // A live source is read even while paused or between due frames: left unread, its buffers
        // would hand over stale frames later.
        if (source.live && (this.settings.value.paused || !pacer.isDue(grab.grabbedAt))) continue;
        pacer.advance(grab.grabbedAt);
        await this.publishFrame(grab);
      } finally {
        // The pipeline owns the frame's pixels. Freed here, the allocator hands the same memory to
        // the next frame; left to V8's GC (which does not see native memory), every frame lands in
        // fresh pages, and faulting in ~1 MB of them cost 2.6 ms per 640x480 frame on the bench
        // machine, more than the JPEG encode.
        grab.mat?.release();
      }
    }
  }

  private encodeOptions(): EncodeOptions {
    const { width, height, quality } = this.settings.value;
    return {
      width,
      height,
      quality,
      passthrough: this.options.passthrough && !this.qualityCommanded,
      overlay: this.options.overlay ? this.options.camera : undefined,
    };
  }

  private async publishFrame(grab: Grab): Promise<void> {
    if (!this.publisher.connected) {
      // Nobody to send it to: skip the encode as well.
      this.publisher.dropOffline();
      return;
    }
    const before = { passthrough: this.encoder.passthrough, warning: this.encoder.warning, sizeWarning: this.encoder.sizeWarning };
    const encodeStart = performance.now();
    const meta = { camera: this.options.camera, seq: this.seq + 1, captureTime: grab.captureTime };
    const encoded = await this.encoder.encode(grab, this.encodeOptions(), meta);
    if (encoded) {
      this.seq += 1;
      this.publisher.offer(encoded.payload, meta);
      const t = this.timings;
      t.frames += 1;
      if (encoded.quality === undefined) t.passedThrough += 1;
      t.encodeMs += performance.now() - encodeStart;
      t.grabToOfferMs += performance.now() - grab.grabbedAt;
    }
    if (
      before.passthrough !== this.encoder.passthrough ||
      before.warning !== this.encoder.warning ||
      before.sizeWarning !== this.encoder.sizeWarning
    ) {
      if (this.encoder.warning !== before.warning && this.encoder.warning)
        this.log.warn({ warning: this.encoder.warning }, 'frame size cap');
      if (this.encoder.sizeWarning !== before.sizeWarning && this.encoder.sizeWarning)
        this.log.warn({ warning: this.encoder.sizeWarning }, 'source smaller than the asked size');
      this.emit('changed');
    }
  }

  private async publishSnapshot(grab: Grab): Promise<void> {
    const request = this.snapshot!;
    this.snapshot = undefined;
    if (!this.publisher.connected) {
      request.resolve({ error: 'not connected to the broker' });
      return;
    }
    const seq = this.seq + 1;
    const meta = { camera: this.options.camera, seq, captureTime: grab.captureTime, snapshot: true };
    const encoded = await this.encoder.encodeSnapshot(grab, this.encodeOptions(), this.options.snapshotQuality, meta);
    if (!encoded) {
      request.resolve({ error: `snapshot over MQTT_MAX_PAYLOAD_BYTES (${this.options.maxPayloadBytes}) even at the lowest quality` });
      return;
    }
    this.seq = seq;
    try {
      await this.publisher.publishSnapshot(encoded.payload, meta);
      this.log.info({ seq, quality: encoded.quality, bytes: encoded.payload.length }, 'snapshot sent');
      request.resolve({ seq });
    } catch (error) {
      request.resolve({ error: `snapshot not sent: ${error instanceof Error ? error.message : String(error)}` });
    }
  }

  /** While paused: returns on any settings change, a snapshot request or stop. */
  private async untilWoken(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.settings.off('change', done);
        this.off('wake', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.settings.on('change', done);
      this.on('wake', done);
      signal.addEventListener('abort', done);
    });
  }

  private opened(info: SourceInfo): void {
    this.error = undefined;
    this.log.info({ source: this.source.description, ...info }, 'source opened');
    this.emit('opened', info);
  }

  private failed(error: unknown): void {
    // Goes to the log and the retained status; a source's message may quote its URL.
    const message = redactCredentials(error instanceof Error ? error.message : String(error));
    this.error = message;
    this.log.error({ source: this.source.description, error: message, retryInMs: this.backoffMs }, 'source failed');
    this.emit('failed', message);
  }

  /** The source is done for good: said in the status, and no retry. */
  private ended(error: EndOfSourceError, signal: AbortSignal): void {
    if (signal.aborted) return;
    this.error = error.message;
    this.log.info({ source: this.source.description }, error.message);
    this.emit('failed', error.message);
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

function untilAborted(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function emptyTimings(): PipelineTimings {
  return { reads: 0, frames: 0, passedThrough: 0, grabMs: 0, encodeMs: 0, grabToOfferMs: 0 };
}
