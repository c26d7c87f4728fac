/**
 * The retained status on `<prefix>/<camera>/status`: sent on every connect (the broker may have
 * published our offline last will in between), whenever something in it changes, and every
 * STATUS_INTERVAL_S with fresh rates. QoS 1, so the one message that says what a camera is doing
 * is not lost to a busy socket. Changes in the same tick are sent as one message.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { MqttClient } from 'mqtt';
import { type CameraStatus, offlineStatus, redactStatus } from '@camqtt/wire';
import type { Logger } from 'pino';
import type { FramePipeline } from './frame-pipeline.js';
import type { FramePublisher } from './frame-publisher.js';
import type { LiveSettings } from './live-settings.js';
import { waitAtMost } from '@camqtt/service-kit';

export type CommandAnswer = NonNullable<CameraStatus['lastCommand']>;

interface RateSample {
  at: number;
  sent: number;
  bytes: number;
}

export interface StatusReporterOptions {
  client: MqttClient;
  /** `<prefix>/<camera>/status` */
  topic: string;
  camera: string;
  /** STATUS_INTERVAL_S */
  intervalS: number;
  /** MQTT_MAX_MESSAGES_PER_S, or Infinity */
  fpsCap: number;
  pipeline: FramePipeline;
  framePublisher: FramePublisher;
  settings: LiveSettings;
  log: Logger;
}

export class StatusReporter {
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private lastSample: RateSample | undefined;
  private fps = 0;
  private bytesPerSecond = 0;
  private lastCommand: CommandAnswer | undefined;
  /** Event-loop stalls show as late MQTT keepalives and late frames: logged every period. */
  private loopDelay: IntervalHistogram | undefined;

  private readonly client: MqttClient;
  private readonly topic: string;
  private readonly camera: string;
  private readonly pipeline: FramePipeline;
  private readonly framePublisher: FramePublisher;
  private readonly settings: LiveSettings;
  private readonly log: Logger;

  constructor(private readonly options: StatusReporterOptions) {
    this.client = options.client;
    this.topic = options.topic;
    this.camera = options.camera;
    this.pipeline = options.pipeline;
    this.framePublisher = options.framePublisher;
    this.settings = options.settings;
    this.log = options.log;
  }

  start(): void {
    this.lastSample = this.sample();
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
    this.timer = setInterval(() => this.tick(), this.options.intervalS * 1000);
    this.client.on('connect', this.publishNow);
    this.pipeline.on('opened', this.publishNow);
    this.pipeline.on('failed', this.publishNow);
    this.pipeline.on('changed', this.publishNow);
    this.settings.on('change', this.publishNow);
  }

  stop(): void {
    clearInterval(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.loopDelay?.disable();
    this.client.off('connect', this.publishNow);
    this.pipeline.off('opened', this.publishNow);
    this.pipeline.off('failed', this.publishNow);
    this.pipeline.off('changed', this.publishNow);
    this.settings.off('change', this.publishNow);
  }

  /** Records the answer to a control command and publishes it. */
  answer(answer: CommandAnswer): void {
    this.lastCommand = answer;
    this.publishNow();
  }

  current(): CameraStatus {
    const settings = this.settings.value;
    const { pipeline } = this;
    const status: CameraStatus = {
      camera: this.camera,
      online: true,
      updatedAt: Date.now(),
      source: pipeline.source.description,
      width: settings.width,
      height: settings.height,
      targetFps: Math.min(settings.fps, this.options.fpsCap),
      fps: this.fps,
      quality: settings.quality,
      framesSent: this.framePublisher.sent,
      framesDropped: this.framePublisher.dropped,
      bytesPerSecond: this.bytesPerSecond,
      paused: settings.paused,
      passthrough: pipeline.passthrough,
    };
    const info = pipeline.sourceInfo;
    if (info) {
      status.sourceWidth = Math.round(info.width);
      status.sourceHeight = Math.round(info.height);
      status.sourceFps = info.fps;
      if (info.format !== undefined) status.sourceFormat = info.format;
    }
    if (pipeline.encodeQuality !== undefined && pipeline.encodeQuality < settings.quality) status.encodeQuality = pipeline.encodeQuality;
    const warnings = [fpsCapWarning(settings.fps, this.options.fpsCap), ...pipeline.encoderWarnings].filter(
      (w): w is string => w !== undefined,
    );
    if (warnings.length > 0) status.warnings = warnings;
    if (pipeline.error !== undefined) status.error = pipeline.error;
    if (this.lastCommand) status.lastCommand = this.lastCommand;
    return redactStatus(status);
  }

  /** Publishes the current status soon (once per tick however many changes); only when connected. */
  readonly publishNow = (): void => {
    this.immediate ??= setImmediate(() => {
      this.immediate = undefined;
      if (!this.client.connected) return;
      this.client.publish(this.topic, JSON.stringify(this.current()), { qos: 1, retain: true }, (error) => {
        if (error) this.log.debug({ error: error.message }, 'status publish failed');
      });
    });
  };

  /** Publishes the offline status (a clean disconnect does not fire the last will). */
  async publishOffline(timeoutMs: number): Promise<void> {
    if (!this.client.connected) return;
    const published = this.client
      .publishAsync(this.topic, JSON.stringify(offlineStatus(this.camera)), { qos: 1, retain: true })
      .catch((error: unknown) => {
        this.log.warn({ error: error instanceof Error ? error.message : String(error) }, 'offline status publish failed');
      });
    await waitAtMost(published, timeoutMs);
  }

  private tick(): void {
    const now = this.sample();
    const last = this.lastSample;
    this.lastSample = now;
    if (last && now.at > last.at) {
      const seconds = (now.at - last.at) / 1000;
      this.fps = Math.round(((now.sent - last.sent) / seconds) * 10) / 10;
      this.bytesPerSecond = Math.round((now.bytes - last.bytes) / seconds);
    }
    this.logStats();
    this.publishNow();
  }

  private logStats(): void {
    const t = this.pipeline.takeTimings();
    const latencies = this.framePublisher.takeLatencies().sort((a, b) => a - b);
    const loopDelayMaxMs = this.loopDelay ? Math.round(this.loopDelay.max / 1e4) / 100 : undefined;
    this.loopDelay?.reset();
    const avg = (ms: number, count = t.frames): number | undefined => (count > 0 ? Math.round((ms / count) * 100) / 100 : undefined);
    const pct = (p: number): number | undefined =>
      latencies.length > 0 ? round2(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!) : undefined;
    this.log.debug(
      {
        reads: t.reads,
        frames: t.frames,
        passedThrough: t.passedThrough,
        fps: this.fps,
        grabMs: avg(t.grabMs, t.reads),
        encodeMs: avg(t.encodeMs),
        grabToOfferMs: avg(t.grabToOfferMs),
        captureToSentP50Ms: pct(0.5),
        captureToSentP99Ms: pct(0.99),
        loopDelayMaxMs,
        framesDropped: this.framePublisher.dropped,
      },
      'pipeline stats',
    );
  }

  private sample(): RateSample {
    return { at: performance.now(), sent: this.framePublisher.sent, bytes: this.framePublisher.bytesSent };
  }
}

export function fpsCapWarning(fps: number, cap: number): string | undefined {
  return fps > cap ? `fps capped at ${cap} by MQTT_MAX_MESSAGES_PER_S (asked for ${fps})` : undefined;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
