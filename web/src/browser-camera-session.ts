/**
 * One browser camera's page, connected at /ws/camera: its frames are checked and published as
 * they are (newest wins while the last publish is still being written), its status is published
 * retained on connect, on every change the page reports and every STATUS_INTERVAL_MS, and
 * `online:false` when it ends (see browser-cameras.ts for why the relay does this, not a last will).
 */
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import {
  checkJpeg,
  epochNowMs,
  NewestWinsGate,
  parseBrowserCameraReport,
  readFrameMeta,
  type BrowserCameraEvent,
  type BrowserCameraReport,
  type BrowserCameraSettings,
  type CameraStatus,
  type ControlCommand,
  type Topics,
} from '@camqtt/wire';
import type { ViewerIdentity } from './viewer-identity.js';

/** As often as a publisher's status: the grid's fps and kB/s for the camera stay current. */
const STATUS_INTERVAL_MS = 2_000;

/** The relay's MQTT side as a browser camera uses it (BrokerIntake). */
export interface BrowserCameraPublisher {
  publish(topic: string, payload: Buffer | string, options: { qos: 0 | 1; retain?: boolean }): Promise<void>;
  watchControl(camera: string): void;
  unwatchControl(camera: string): void;
}

export interface BrowserCameraSessionOptions {
  camera: string;
  socket: WebSocket;
  viewer: ViewerIdentity;
  publisher: BrowserCameraPublisher;
  topics: Topics;
  /** Where the camera starts (VIDEO_WIDTH, VIDEO_HEIGHT, VIDEO_FPS, JPEG_QUALITY, as a publisher). */
  startSettings: BrowserCameraSettings;
  log: Logger;
}

export class BrowserCameraSession {
  settings: BrowserCameraSettings;
  private report: Omit<BrowserCameraReport, 'type' | 'settings'> = {};
  private lastCommand: CameraStatus['lastCommand'];
  private readonly gate: NewestWinsGate<Buffer>;
  private statusTimer: NodeJS.Timeout | undefined;
  private framesSent = 0;
  private framesRefused = 0;
  private window = { frames: 0, bytes: 0, since: performance.now() };
  private rates = { fps: 0, bytesPerSecond: 0 };
  private answeredPing = true;
  private ended = false;

  constructor(private readonly options: BrowserCameraSessionOptions) {
    this.settings = { ...options.startSettings };
    this.gate = new NewestWinsGate<Buffer>((frame, done) => this.publishFrame(frame, done));
  }

  get camera(): string {
    return this.options.camera;
  }

  get viewer(): ViewerIdentity {
    return this.options.viewer;
  }

  start(): void {
    const { camera, socket, publisher } = this.options;
    socket.on('pong', () => {
      this.answeredPing = true;
    });
    publisher.watchControl(camera);
    this.send({ type: 'hello', camera, serverTime: epochNowMs(), settings: this.settings });
    this.publishStatus();
    this.statusTimer = setInterval(() => this.publishStatus(), STATUS_INTERVAL_MS);
  }

  /** Ends the camera: `online:false` (unless another page of the account took it over) and the socket closed. */
  async end(code: number, reason: string, { offline = true }: { offline?: boolean } = {}): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.statusTimer);
    const { camera, publisher, topics, log } = this.options;
    if (offline) {
      publisher.unwatchControl(camera);
      const status: CameraStatus = { camera, online: false, updatedAt: epochNowMs(), source: 'browser' };
      await publisher
        .publish(topics.status(camera), JSON.stringify(status), { qos: 1, retain: true })
        .catch((error: unknown) => log.warn({ camera, err: error }, 'could not publish the browser camera offline'));
    }
    this.close(code, reason);
  }

  close(code: number, reason: string): void {
    const { socket } = this.options;
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(code, reason);
  }

  /** Called every heartbeat: a page that did not answer the last ping is gone (a phone asleep). */
  ping(): void {
    const { socket } = this.options;
    if (socket.readyState !== WebSocket.OPEN) return;
    if (!this.answeredPing) {
      this.options.log.warn({ camera: this.camera }, 'browser camera did not answer a ping, terminating it');
      socket.terminate();
      return;
    }
    this.answeredPing = false;
    socket.ping();
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) this.onFrame(data);
    else this.onReport(data.toString('utf8'));
  }

  applyCommand(command: ControlCommand, capped: string[]): void {
    const next: BrowserCameraSettings = { ...this.settings };
    if (command.fps !== undefined) next.fps = command.fps;
    if (command.quality !== undefined) next.quality = command.quality;
    if (command.width !== undefined) next.width = command.width;
    if (command.height !== undefined) next.height = command.height;
    if (command.paused !== undefined) next.paused = command.paused;
    const changed = Object.fromEntries(
      (Object.keys(next) as (keyof BrowserCameraSettings)[])
        .filter((key) => next[key] !== this.settings[key])
        .map((key) => [key, next[key]]),
    );
    this.lastCommand = {
      ok: true,
      at: epochNowMs(),
      changed,
      ...(command.id ? { id: command.id } : {}),
      ...(capped.length ? { capped } : {}),
    };
    // A snapshot needs nothing special: every frame of a browser camera is encoded at its quality.
    this.send({ type: 'control', command });
    this.options.log.info({ camera: this.camera, command, capped }, 'browser camera control command');
  }

  refuseCommand(error: string, id: string | undefined): void {
    this.lastCommand = { ok: false, error, at: epochNowMs(), ...(id ? { id } : {}) };
    this.publishStatus();
  }

  private onFrame(frame: Buffer): void {
    const check = checkJpeg(frame);
    // The frame must name this camera: an account publishes as its own camera only.
    const meta = check.ok ? readFrameMeta(frame) : undefined;
    if (!meta || meta.camera !== this.camera) {
      this.framesRefused += 1;
      this.options.log.debug(
        { camera: this.camera, reason: check.ok ? 'metadata missing or names another camera' : check.reason },
        'refused a browser camera frame',
      );
      return;
    }
    this.gate.offer(frame);
  }

  private onReport(text: string): void {
    const report = parseBrowserCameraReport(text);
    if ('error' in report) {
      this.options.log.debug({ camera: this.camera, reason: report.error }, 'ignored a browser camera report');
      return;
    }
    const { type: _type, settings, ...rest } = report;
    this.settings = settings;
    this.report = rest;
    this.publishStatus();
  }

  private publishFrame(frame: Buffer, done: () => void): void {
    const { publisher, topics, camera } = this.options;
    this.framesSent += 1;
    this.window.frames += 1;
    this.window.bytes += frame.length;
    // QoS 0 like every camera's frames: the promise settles once MQTT.js has written it.
    publisher
      .publish(topics.frame(camera), frame, { qos: 0 })
      .catch(() => {
        this.framesRefused += 1;
      })
      .finally(done);
  }

  private publishStatus(): void {
    const { publisher, topics, camera, log } = this.options;
    const now = performance.now();
    const seconds = (now - this.window.since) / 1000;
    if (seconds >= 1) {
      this.rates = { fps: round(this.window.frames / seconds), bytesPerSecond: Math.round(this.window.bytes / seconds) };
      this.window = { frames: 0, bytes: 0, since: now };
    }
    const { width, height, fps: targetFps, quality, paused } = this.settings;
    const status: CameraStatus = {
      camera,
      online: true,
      updatedAt: epochNowMs(),
      source: 'browser',
      width,
      height,
      targetFps,
      quality,
      paused,
      ...this.rates,
      framesSent: this.framesSent,
      framesDropped: this.gate.replaced + this.framesRefused,
      ...(this.report.sourceWidth !== undefined ? { sourceWidth: this.report.sourceWidth } : {}),
      ...(this.report.sourceHeight !== undefined ? { sourceHeight: this.report.sourceHeight } : {}),
      ...(this.lastCommand ? { lastCommand: this.lastCommand } : {}),
    };
    publisher
      .publish(topics.status(camera), JSON.stringify(status), { qos: 1, retain: true })
      .catch((error: unknown) => log.debug({ camera, err: error }, 'could not publish a browser camera status'));
  }

  private send(event: BrowserCameraEvent): void {
    if (this.options.socket.readyState === WebSocket.OPEN) this.options.socket.send(JSON.stringify(event));
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
