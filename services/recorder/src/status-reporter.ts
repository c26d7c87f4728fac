/**
 * Each camera's retained `<prefix>/<camera>/recording` (RecordingStatus): sent when its state
 * changes and every STATUS_INTERVAL_MS, with the bytes it recorded over the last hour and the free
 * space of RECORD_DIR's filesystem. On a clean stop every camera says `off`.
 */
import { statfs, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { RecordFormat, RecordMode, RecordingStatus, Topics } from '@camqtt/wire';
import type { CameraRecorder } from './camera-recorder.js';

export const STATUS_INTERVAL_MS = 10_000;
const HOUR_MS = 3_600_000;
/** Below this age a camera's bytes per hour are not scaled up: a few seconds say nothing. */
const MIN_SCALE_MS = 60_000;

interface ByteSample {
  at: number;
  bytes: number;
}

export interface StatusReporterOptions {
  client: () => MqttClient | undefined;
  topics: Topics;
  mode: RecordMode;
  format: RecordFormat;
  recordDir: string;
  recorders: () => CameraRecorder[];
  log: Logger;
}

export class StatusReporter {
  private readonly samples = new Map<string, ByteSample[]>();
  private readonly firstSeen = new Map<string, number>();
  private readonly sent = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  /** Last measured free bytes of RECORD_DIR's filesystem. */
  diskFreeBytes: number | undefined;

  constructor(private readonly options: StatusReporterOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.publishAll(true), STATUS_INTERVAL_MS);
  }

  /** A segment of `camera` was finished with `bytes`. */
  segmentWritten(camera: string, bytes: number): void {
    const list = this.samples.get(camera) ?? [];
    list.push({ at: Date.now(), bytes });
    this.samples.set(camera, list);
  }

  /** The camera's state changed: tell now. */
  changed(recorder: CameraRecorder): void {
    void this.publish(recorder, false);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const client = this.options.client();
    if (!client?.connected) return;
    await Promise.all(
      this.options.recorders().map((recorder) =>
        client
          .publishAsync(this.options.topics.recording(recorder.camera), JSON.stringify(this.status(recorder, 'off', 0)), {
            qos: 1,
            retain: true,
          })
          .catch(() => undefined),
      ),
    );
  }

  private async publishAll(always: boolean): Promise<void> {
    await this.measureDisk();
    await Promise.all(this.options.recorders().map((recorder) => this.publish(recorder, always)));
  }

  private async publish(recorder: CameraRecorder, always: boolean): Promise<void> {
    const { client: clientOf, topics, mode, log } = this.options;
    if (this.diskFreeBytes === undefined) await this.measureDisk();
    const state = mode === 'off' ? 'off' : recorder.state;
    const status = this.status(recorder, state, await this.bytesPerHour(recorder));
    const key = `${status.state}|${status.lastError ?? ''}`;
    if (!always && this.sent.get(recorder.camera) === key) return;
    this.sent.set(recorder.camera, key);
    const client = clientOf();
    if (!client?.connected) return;
    await client
      .publishAsync(topics.recording(recorder.camera), JSON.stringify(status), { qos: 1, retain: true })
      .catch((error: unknown) => log.warn({ camera: recorder.camera, error: String(error) }, 'recording status not published'));
  }

  private status(recorder: CameraRecorder, state: RecordingStatus['state'], bytesPerHour: number): RecordingStatus {
    const { mode, format } = this.options;
    return {
      camera: recorder.camera,
      state,
      mode,
      format,
      bytesPerHour: Math.round(bytesPerHour),
      diskFreeBytes: this.diskFreeBytes ?? 0,
      ...(recorder.lastError ? { lastError: recorder.lastError } : {}),
      updatedAt: Date.now(),
    };
  }

  /** Finished segments of the last hour plus the open one so far, scaled to an hour while the camera is younger. */
  private async bytesPerHour(recorder: CameraRecorder): Promise<number> {
    const now = Date.now();
    const firstSeen = this.firstSeen.get(recorder.camera) ?? now;
    this.firstSeen.set(recorder.camera, firstSeen);
    const samples = (this.samples.get(recorder.camera) ?? []).filter((sample) => now - sample.at < HOUR_MS);
    this.samples.set(recorder.camera, samples);
    const open = recorder.openFile;
    const openBytes = open
      ? await stat(join(this.options.recordDir, open)).then(
          (info) => info.size,
          () => 0,
        )
      : 0;
    const bytes = samples.reduce((sum, sample) => sum + sample.bytes, 0) + openBytes;
    const age = now - firstSeen;
    return age >= HOUR_MS || age < MIN_SCALE_MS ? bytes : (bytes * HOUR_MS) / age;
  }

  private async measureDisk(): Promise<void> {
    try {
      const info = await statfs(this.options.recordDir);
      this.diskFreeBytes = info.bavail * info.bsize;
    } catch {
      // RECORD_DIR not made yet: nothing recorded so far.
    }
  }
}
