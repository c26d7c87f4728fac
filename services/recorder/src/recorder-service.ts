/**
 * The recorder: reads every camera's frames and statuses from the broker (or only RECORD_CAMERAS)
 * and hands each recorded camera's frames to its CameraRecorder. The recording mode is decided in
 * `onFrame` alone: continuous writes every frame; motion mode leaves the choice to the motion
 * service, which calls `write(camera, frames)` and `close(camera)`; off writes nothing.
 */
import type { IClientOptions, ISubscriptionMap, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  checkJpeg,
  parseCameraStatus,
  readFrameMeta,
  redactCredentials,
  type RecordFormat,
  type RecordMode,
  type SegmentEntry,
  Topics,
} from '@camqtt/wire';
import { connectMqtt, explainConnectionError, isProtocolFallback, type MqttProtocolChoice } from '@camqtt/service-kit';
import { CameraRecorder, GAP_MS } from './camera-recorder.js';
import type { SegmentIndex } from './segment-index.js';

/** How often to look for cameras whose frames stopped without an offline status. */
const SILENCE_CHECK_MS = 1000;

export interface RecorderServiceOptions {
  url: string;
  clientOptions: IClientOptions;
  protocol: MqttProtocolChoice;
  topics: Topics;
  mode: RecordMode;
  format: RecordFormat;
  /** Cameras to record; empty: every camera seen. */
  cameras: string[];
  recordDir: string;
  segmentMs: number;
  index: SegmentIndex;
  log: Logger;
  ffmpegPath?: string;
  /** Every frame of a recorded camera, whatever the mode (motion detection reads them). */
  onCameraFrame?: (camera: string, jpeg: Uint8Array, captureMs: number) => void;
  /** A camera is gone (its retained status was cleared): motion forgets it too. */
  onCameraGone?: (camera: string) => void;
  /** A recorder's state changed, a segment closed, a frame was dropped (status and metrics). */
  onRecorderChange?: (recorder: CameraRecorder) => void;
  onSegment?: (camera: string, entry: SegmentEntry) => void;
  onDrop?: (camera: string, reason: 'backlog' | 'failed') => void;
  onWritten?: (camera: string) => void;
}

/** A frame to record: its JPEG and capture time (the motion service's pre-roll frames have this shape). */
export interface RecordFrame {
  jpeg: Uint8Array;
  captureTime: number;
}

export class RecorderService {
  private readonly recorders = new Map<string, CameraRecorder>();
  private readonly lastFrameAt = new Map<string, number>();
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private problem: string | undefined;
  /** Set when stopping: frames still arriving open no new segments. */
  private closed = false;

  constructor(private readonly options: RecorderServiceOptions) {}

  /** Every camera's recorder so far. */
  list(): CameraRecorder[] {
    return [...this.recorders.values()];
  }

  get mqtt(): MqttClient | undefined {
    return this.client;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  start(): void {
    const { url, clientOptions, protocol, log } = this.options;
    const broker = redactCredentials(url);
    const client = connectMqtt(url, { ...clientOptions, resubscribe: false }, protocol, log);
    this.client = client;
    client.on('connect', () => {
      this.problem = undefined;
      log.info({ broker, clientId: clientOptions.clientId }, 'connected to the MQTT broker');
      this.subscribe(client);
    });
    client.on('offline', () => log.warn({ broker }, 'MQTT broker connection lost, reconnecting'));
    client.on('error', (error) => {
      if (isProtocolFallback(error)) return;
      const problem = explainConnectionError(error, broker, clientOptions.username);
      if (problem === this.problem) return;
      this.problem = problem;
      log.warn({ broker, err: error }, `MQTT: ${problem}`);
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    this.timer = setInterval(() => this.closeSilent(), SILENCE_CHECK_MS);
  }

  /** Motion mode: record these frames (oldest first) now. */
  write(camera: string, frames: readonly RecordFrame[]): void {
    if (this.closed) return;
    const recorder = this.recorderFor(camera);
    for (const frame of frames) recorder.write(frame.jpeg, frame.captureTime);
  }

  /** Motion mode: the motion is over, end the camera's segment. */
  close(camera: string): void {
    void this.recorders.get(camera)?.closeSegment();
  }

  /** Closes every open segment (each gets its entry). */
  async closeSegments(): Promise<void> {
    this.closed = true;
    await Promise.all(this.list().map((recorder) => recorder.closeSegment()));
  }

  /** Closes every segment, then the broker connection. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.closeSegments();
    await this.client?.endAsync();
    this.client = undefined;
  }

  private subscribe(client: MqttClient): void {
    const { topics, cameras, log } = this.options;
    const filters = (kind: 'frame' | 'status'): string[] =>
      cameras.length === 0
        ? [topics.all(kind)]
        : cameras.map((camera) => (kind === 'frame' ? topics.frame(camera) : topics.status(camera)));
    const wanted: ISubscriptionMap = {};
    for (const filter of filters('frame')) wanted[filter] = { qos: 0 };
    for (const filter of filters('status')) wanted[filter] = { qos: 1 };
    client.subscribe(wanted, (error, granted) => {
      if (error) log.error({ err: error }, 'MQTT subscribe failed');
      const refused = (granted ?? []).filter((grant) => grant.qos === 128).map((grant) => grant.topic);
      if (refused.length > 0) log.error({ refused }, "the broker refused a subscription: check the recorder account's ACL");
    });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const parsed = this.options.topics.parse(topic);
    if (!parsed) return;
    const { camera, kind } = parsed;
    if (this.closed) return;
    if (this.options.cameras.length > 0 && !this.options.cameras.includes(camera)) return;
    if (kind === 'frame') this.onFrame(camera, payload);
    else if (kind === 'status') this.onStatus(camera, payload);
  }

  private onFrame(camera: string, payload: Buffer): void {
    const meta = checkJpeg(payload).ok ? readFrameMeta(payload) : undefined;
    // Without a capture time a frame cannot be placed in time: it is not recorded.
    if (!meta) return;
    this.lastFrameAt.set(camera, Date.now());
    this.options.onCameraFrame?.(camera, payload, meta.captureTime);
    if (this.options.mode === 'continuous') this.recorderFor(camera).write(payload, meta.captureTime);
  }

  private onStatus(camera: string, payload: Buffer): void {
    // An empty retained message clears a camera that is gone: so does its recording state.
    if (payload.length === 0) {
      this.forget(camera);
      return;
    }
    const parsed = parseCameraStatus(payload);
    // Offline ends the segment; an unreadable status is taken as offline too.
    if ('status' in parsed && parsed.status.online) this.recorderFor(camera);
    else this.close(camera);
  }

  private forget(camera: string): void {
    this.options.onCameraGone?.(camera);
    const recorder = this.recorders.get(camera);
    if (!recorder) return;
    this.recorders.delete(camera);
    this.lastFrameAt.delete(camera);
    void recorder.closeSegment();
    this.client?.publish(this.options.topics.recording(camera), '', { qos: 1, retain: true });
  }

  /** A camera whose frames stopped without an offline status (network gone, publisher killed). */
  private closeSilent(): void {
    const now = Date.now();
    for (const [camera, at] of this.lastFrameAt) {
      if (now - at <= GAP_MS) continue;
      this.lastFrameAt.delete(camera);
      this.close(camera);
    }
  }

  private recorderFor(camera: string): CameraRecorder {
    let recorder = this.recorders.get(camera);
    if (recorder) return recorder;
    const { recordDir, format, segmentMs, index, log, ffmpegPath } = this.options;
    const created: CameraRecorder = new CameraRecorder({
      camera,
      recordDir,
      format,
      segmentMs,
      index,
      log,
      ffmpegPath,
      onChange: () => this.options.onRecorderChange?.(created),
      onSegment: (entry) => this.options.onSegment?.(camera, entry),
      onDrop: (reason) => this.options.onDrop?.(camera, reason),
      onWritten: () => this.options.onWritten?.(camera),
    });
    recorder = created;
    this.recorders.set(camera, recorder);
    this.options.onRecorderChange?.(recorder);
    return recorder;
  }
}
