/**
 * The publisher's frames, from source to MQTT: SourceSupervisor keeps the source open (retrying
 * with backoff), FrameLoop reads it and picks the frames to send (pacing, pause, snapshots), and
 * this file turns each picked frame into a payload (FrameEncoder: passthrough, or resize +
 * overlay + JPEG) with its metadata and hands it to the FramePublisher. Live sources are read in
 * the capture helper process and every OpenCV call here that costs real time is the async
 * (thread-pool) variant, so the event loop stays free for MQTT.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { type EncodeOptions, FrameEncoder, type FrameEncoding } from './frame-encoder.js';
import { FrameLoop } from './frame-loop.js';
import type { FramePublisher } from './frame-publisher.js';
import { FrameTimings, type PipelineTimings } from './frame-timings.js';
import type { LiveSettings, SettingsPatch } from './live-settings.js';
import { RetryBackoff, type RetryLimits, SOURCE_RETRY } from './retry-backoff.js';
import { type SnapshotAnswer, SnapshotRequests, type SnapshotResult } from './snapshot-requests.js';
import type { FrameSource, Grab, SourceInfo } from './sources/frame-source.js';
import { SourceSupervisor } from './source-supervisor.js';
import { waitAtMost } from '@camqtt/service-kit';

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
  /** Delays between attempts to open a failed source (default SOURCE_RETRY; tests shorten them). */
  sourceRetry?: RetryLimits;
}

export class FramePipeline extends EventEmitter<{ opened: [info: SourceInfo]; failed: [error: string]; changed: [] }> {
  private abort = new AbortController();
  private running: Promise<void> | undefined;
  private readonly supervisor: SourceSupervisor;
  private readonly loop: FrameLoop;
  private readonly encoder: FrameEncoding;
  private readonly snapshots = new SnapshotRequests();
  private readonly timings = new FrameTimings();
  private seq = 0;
  /** A quality command came: the operator wants that quality, so no more passthrough. */
  private qualityCommanded = false;

  constructor(
    readonly source: FrameSource,
    private readonly settings: LiveSettings,
    private readonly framePublisher: FramePublisher,
    private readonly options: PipelineOptions,
    private readonly log: Logger,
  ) {
    super();
    this.encoder = source.makeEncoder?.(options.maxPayloadBytes) ?? new FrameEncoder(options.maxPayloadBytes);
    this.supervisor = new SourceSupervisor(source, new RetryBackoff(options.sourceRetry ?? SOURCE_RETRY), log);
    this.supervisor.on('opened', (info) => this.emit('opened', info));
    this.supervisor.on('failed', (error) => this.emit('failed', error));
    this.loop = new FrameLoop({
      source,
      settings,
      snapshots: this.snapshots,
      timings: this.timings,
      fpsCap: options.fpsCap,
      sink: { frame: (grab) => this.publishFrame(grab), snapshot: (grab, answer) => this.publishSnapshot(grab, answer) },
    });
  }

  /** What the source delivers, while it is open. */
  get sourceInfo(): SourceInfo | undefined {
    return this.supervisor.info;
  }

  /** Why the source is not delivering, while it is not. */
  get error(): string | undefined {
    return this.supervisor.error;
  }

  /** Whether the last frame was the source's own JPEG, published as it came. */
  get passthrough(): boolean {
    return this.encoder.state.passthrough;
  }

  get encodeQuality(): number | undefined {
    return this.encoder.state.encodeQuality;
  }

  /** Why frames are worse (size cap) or smaller (small source) than asked, for the status. */
  get encoderWarnings(): string[] {
    const { warning, sizeWarning } = this.encoder.state;
    return [warning, sizeWarning].filter((warning): warning is string => warning !== undefined);
  }

  start(): void {
    this.abort = new AbortController();
    this.settings.on('change', this.onSettingsChange);
    this.running = this.supervisor.run((signal, delivering) => this.loop.read(signal, delivering), this.abort.signal);
  }

  /**
   * Stops the loop and releases the source (killing the capture helper if a read is stuck).
   * Resolves true once released, or false if the loop was still busy after `timeoutMs`.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.abort.abort();
    this.settings.off('change', this.onSettingsChange);
    this.snapshots.cancel('publisher stopping');
    const running = this.running;
    return await waitAtMost(Promise.all([this.source.dispose?.(), running]), timeoutMs);
  }

  /** Sends the next frame as a snapshot (even while paused); resolves once it was published. */
  requestSnapshot(): Promise<SnapshotResult> {
    return this.snapshots.request();
  }

  /** Takes and resets the per-frame cost sums. */
  takeTimings(): PipelineTimings {
    return this.timings.take();
  }

  private readonly onSettingsChange = (changed: SettingsPatch): void => {
    if (changed.quality !== undefined) this.qualityCommanded = true;
    if (changed.quality !== undefined || changed.width !== undefined || changed.height !== undefined) this.encoder.reset();
  };

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
    if (!this.framePublisher.connected) {
      // Nobody to send it to: skip the encode as well.
      this.framePublisher.dropOffline();
      return;
    }
    const { encoder } = this;
    const before = encoder.state;
    const encodeStart = performance.now();
    const meta = { camera: this.options.camera, seq: this.seq + 1, captureTime: grab.captureTime };
    const encoded = await encoder.encode(grab, this.encodeOptions(), meta);
    if (encoded) {
      this.seq += 1;
      this.framePublisher.offer(encoded.payload, meta);
      const offeredAt = performance.now();
      this.timings.recordFrame({
        passedThrough: encoded.quality === undefined,
        encodeMs: offeredAt - encodeStart,
        grabToOfferMs: offeredAt - grab.grabbedAt,
      });
    }
    const after = encoder.state;
    if (before.passthrough !== after.passthrough || before.warning !== after.warning || before.sizeWarning !== after.sizeWarning) {
      if (after.warning !== before.warning && after.warning) this.log.warn({ warning: after.warning }, 'frame size cap');
      if (after.sizeWarning !== before.sizeWarning && after.sizeWarning)
        this.log.warn({ warning: after.sizeWarning }, 'source smaller than the asked size');
      this.emit('changed');
    }
  }

  private async publishSnapshot(grab: Grab, answer: SnapshotAnswer): Promise<void> {
    if (!this.framePublisher.connected) {
      answer({ error: 'not connected to the broker' });
      return;
    }
    const seq = this.seq + 1;
    const meta = { camera: this.options.camera, seq, captureTime: grab.captureTime, snapshot: true };
    const encoded = await this.encoder.encodeSnapshot(grab, this.encodeOptions(), this.options.snapshotQuality, meta);
    if (!encoded) {
      answer({ error: `snapshot over MQTT_MAX_PAYLOAD_BYTES (${this.options.maxPayloadBytes}) even at the lowest quality` });
      return;
    }
    this.seq = seq;
    try {
      await this.framePublisher.publishSnapshot(encoded.payload, meta);
      this.log.info({ seq, quality: encoded.quality, bytes: encoded.payload.length }, 'snapshot sent');
      answer({ seq });
    } catch (error) {
      answer({ error: `snapshot not sent: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
}
