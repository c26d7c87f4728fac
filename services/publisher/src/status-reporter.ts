/**
 * The retained status on `<prefix>/<camera>/status`: sent on every connect (the broker may have
 * published our offline last will in between), whenever something in it changes, and every
 * STATUS_INTERVAL_S with fresh rates. QoS 1, so the one message that says what a camera is doing
 * is not lost to a busy socket.
 */
import type { MqttClient } from 'mqtt';
import { type CameraStatus, offlineStatus } from '@camqtt/protocol';
import type { Logger } from 'pino';
import type { FramePipeline } from './frame-pipeline.js';
import type { FramePublisher } from './frame-publisher.js';
import type { LiveSettings } from './live-settings.js';

interface RateSample {
  at: number;
  sent: number;
  bytes: number;
}

export class StatusReporter {
  private timer: NodeJS.Timeout | undefined;
  private lastSample: RateSample | undefined;
  private fps = 0;
  private bytesPerSecond = 0;

  constructor(
    private readonly client: MqttClient,
    private readonly topic: string,
    private readonly camera: string,
    private readonly intervalS: number,
    private readonly pipeline: FramePipeline,
    private readonly publisher: FramePublisher,
    private readonly settings: LiveSettings,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.lastSample = this.sample();
    this.timer = setInterval(() => this.tick(), this.intervalS * 1000);
    this.client.on('connect', this.publishNow);
    this.pipeline.on('opened', this.publishNow);
    this.pipeline.on('failed', this.publishNow);
    this.settings.on('change', this.publishNow);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.client.off('connect', this.publishNow);
    this.pipeline.off('opened', this.publishNow);
    this.pipeline.off('failed', this.publishNow);
    this.settings.off('change', this.publishNow);
  }

  current(): CameraStatus {
    const settings = this.settings.value;
    const status: CameraStatus = {
      camera: this.camera,
      online: true,
      updatedAt: Date.now(),
      source: this.pipeline.source.description,
      width: settings.width,
      height: settings.height,
      targetFps: settings.fps,
      fps: this.fps,
      quality: settings.quality,
      framesSent: this.publisher.sent,
      framesDropped: this.publisher.dropped,
      bytesPerSecond: this.bytesPerSecond,
    };
    if (this.pipeline.error !== undefined) status.error = this.pipeline.error;
    return status;
  }

  /** Publishes the current status now (when connected; on connect it is sent anyway). */
  readonly publishNow = (): void => {
    if (!this.client.connected) return;
    this.client.publish(this.topic, JSON.stringify(this.current()), { qos: 1, retain: true }, (error) => {
      if (error) this.log.debug({ error: error.message }, 'status publish failed');
    });
  };

  /** Publishes the offline status (a clean disconnect does not fire the last will). */
  async publishOffline(timeoutMs: number): Promise<void> {
    if (!this.client.connected) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.client.publishAsync(this.topic, JSON.stringify(offlineStatus(this.camera)), { qos: 1, retain: true }).catch((error: unknown) => {
        this.log.warn({ error: error instanceof Error ? error.message : String(error) }, 'offline status publish failed');
      }),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
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
    this.logTimings();
    this.publishNow();
  }

  private logTimings(): void {
    const t = this.pipeline.takeTimings();
    if (t.frames === 0) return;
    const avg = (ms: number, count = t.frames): number => Math.round((ms / count) * 100) / 100;
    this.log.debug(
      { reads: t.reads, frames: t.frames, fps: this.fps, grabMs: avg(t.grabMs, t.reads), resizeMs: avg(t.resizeMs), encodeMs: avg(t.encodeMs), grabToOfferMs: avg(t.grabToOfferMs), framesDropped: this.publisher.dropped },
      'pipeline stats',
    );
  }

  private sample(): RateSample {
    return { at: performance.now(), sent: this.publisher.sent, bytes: this.publisher.bytesSent };
  }
}
