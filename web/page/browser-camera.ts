/**
 * "Use this device as a camera": the page captures its own camera (getUserMedia), encodes JPEGs
 * off the main thread (jpeg-encoder.ts), stamps them with the frame metadata (capture time on the
 * relay's clock) and sends them over the relay's WebSocket at /ws/camera, which publishes them to
 * MQTT as camera browser-<user>. Control commands come back on the same socket.
 *
 * Newest frame wins: a tick that finds the last frame still encoding, or still not handed to the
 * network (bufferedAmount), is skipped, so a slow uplink costs frames, never a queue.
 */
import { fitSize, type BrowserCameraEvent, type BrowserCameraReport, type BrowserCameraSettings, type ControlCommand } from '@camqtt/wire';
import type { ClockOffset } from './clock-offset.js';
import { createJpegEncoder, encodeFrame, type JpegEncoder } from './jpeg-encoder.js';

export type Facing = 'user' | 'environment';

export interface BrowserCameraStats {
  state: 'starting' | 'live' | 'paused' | 'stopped';
  camera?: string;
  fps: number;
  kilobytesPerSecond: number;
  /** Mean ms to grab and encode one frame over the last second. */
  encodeMs: number;
  encoder?: JpegEncoder['where'];
  /** Why it stopped (refused, no camera, relay gone). */
  problem?: string;
}

export class BrowserCamera {
  private socket: WebSocket | undefined;
  private stream: MediaStream | undefined;
  private encoder: JpegEncoder | undefined;
  private readonly video = document.createElement('video');
  private settings: BrowserCameraSettings | undefined;
  private camera = '';
  private seq = 0;
  private tickTimer: number | undefined;
  private statsTimer: number | undefined;
  private nextTickAt = 0;
  private encoding = false;
  private second = { frames: 0, bytes: 0, encodeMs: 0 };
  private stats: BrowserCameraStats = { state: 'stopped', fps: 0, kilobytesPerSecond: 0, encodeMs: 0 };

  constructor(
    private readonly url: string,
    private readonly clock: ClockOffset,
    private readonly onStats: (stats: BrowserCameraStats) => void,
  ) {
    this.video.muted = true;
    this.video.playsInline = true;
  }

  get running(): boolean {
    return this.socket !== undefined;
  }

  /** Opens the socket; the relay's hello says the camera id and where to start, then the camera is asked for. */
  start(facing: Facing): void {
    if (this.socket) return;
    this.show({ state: 'starting', fps: 0, kilobytesPerSecond: 0, encodeMs: 0 });
    const socket = new WebSocket(this.url);
    this.socket = socket;
    let opened = false;
    socket.addEventListener('open', () => {
      opened = true;
    });
    socket.addEventListener('message', (message: MessageEvent<unknown>) => {
      if (typeof message.data === 'string') void this.onEvent(JSON.parse(message.data) as BrowserCameraEvent, facing);
    });
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      const problem = opened
        ? event.reason
          ? `the relay closed the camera: ${event.reason}`
          : undefined
        : 'the relay refused this camera';
      this.stop(problem);
    });
  }

  /** Stops capturing and closes the socket; the relay then marks the camera offline. */
  stop(problem?: string): void {
    window.clearTimeout(this.tickTimer);
    window.clearInterval(this.statsTimer);
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = undefined;
    this.video.srcObject = null;
    this.encoder?.close();
    this.encoder = undefined;
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(1000);
    this.show({ state: 'stopped', fps: 0, kilobytesPerSecond: 0, encodeMs: 0, ...(problem ? { problem } : {}) });
  }

  private async onEvent(event: BrowserCameraEvent, facing: Facing): Promise<void> {
    if (event.type === 'hello') {
      this.clock.sample(event.serverTime);
      this.camera = event.camera;
      this.settings = event.settings;
      await this.openCamera(facing, event.settings);
    } else {
      this.apply(event.command);
    }
  }

  private async openCamera(facing: Facing, settings: BrowserCameraSettings): Promise<void> {
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: facing }, width: { ideal: settings.width }, height: { ideal: settings.height } },
      });
    } catch (error) {
      this.stop(`no camera: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (!this.socket) return;
    this.video.srcObject = this.stream;
    await this.video.play();
    this.encoder = createJpegEncoder();
    this.report();
    this.nextTickAt = performance.now();
    this.scheduleTick();
    this.statsTimer = window.setInterval(() => this.everySecond(), 1000);
  }

  private apply(command: ControlCommand): void {
    if (!this.settings) return;
    const { fps, quality, width, height, paused } = command;
    this.settings = {
      fps: fps ?? this.settings.fps,
      quality: quality ?? this.settings.quality,
      width: width ?? this.settings.width,
      height: height ?? this.settings.height,
      paused: paused ?? this.settings.paused,
    };
    if (fps !== undefined) {
      window.clearTimeout(this.tickTimer);
      this.nextTickAt = performance.now();
      this.scheduleTick();
    }
    this.report();
  }

  /** Tells the relay what the page now does, for the camera's status. */
  private report(): void {
    if (!this.settings || this.socket?.readyState !== WebSocket.OPEN) return;
    const report: BrowserCameraReport = { type: 'settings', settings: this.settings, encodeMs: round(this.stats.encodeMs) };
    if (this.video.videoWidth > 0) Object.assign(report, { sourceWidth: this.video.videoWidth, sourceHeight: this.video.videoHeight });
    this.socket.send(JSON.stringify(report));
  }

  /** Ticks at the asked fps, on a schedule that does not drift with each tick's own delay. */
  private scheduleTick(): void {
    const interval = 1000 / (this.settings?.fps ?? 1);
    this.nextTickAt = Math.max(this.nextTickAt + interval, performance.now());
    this.tickTimer = window.setTimeout(() => {
      this.scheduleTick();
      void this.captureOne();
    }, this.nextTickAt - performance.now());
  }

  private async captureOne(): Promise<void> {
    const { settings, socket, encoder } = this;
    if (!settings || !socket || !encoder || settings.paused || this.encoding) return;
    if (socket.readyState !== WebSocket.OPEN || socket.bufferedAmount > 0 || this.video.videoWidth === 0) return;
    this.encoding = true;
    try {
      const captureTime = this.clock.toRelayTime(performance.timeOrigin + performance.now());
      const size = fitSize(this.video.videoWidth, this.video.videoHeight, settings.width, settings.height);
      const picture = await createImageBitmap(this.video, { resizeWidth: size.width, resizeHeight: size.height, resizeQuality: 'low' });
      this.seq += 1;
      const result = await encodeFrame(encoder, picture, settings.quality, { camera: this.camera, seq: this.seq, captureTime });
      if ('error' in result) {
        console.warn(`camqtt: browser camera frame not encoded: ${result.error}`);
        return;
      }
      // The tab may have stopped the camera while this frame was encoding.
      if (this.socket !== socket || !isOpen(socket)) return;
      socket.send(result.jpeg);
      this.second.frames += 1;
      this.second.bytes += result.jpeg.byteLength;
      this.second.encodeMs += result.encodeMs;
    } finally {
      this.encoding = false;
    }
  }

  private everySecond(): void {
    const { frames, bytes, encodeMs } = this.second;
    this.second = { frames: 0, bytes: 0, encodeMs: 0 };
    const state = this.settings?.paused ? 'paused' : 'live';
    this.show({
      state,
      camera: this.camera,
      fps: frames,
      kilobytesPerSecond: Math.round(bytes / 1024),
      encodeMs: frames > 0 ? encodeMs / frames : this.stats.encodeMs,
      ...(this.encoder ? { encoder: this.encoder.where } : {}),
    });
  }

  private show(stats: BrowserCameraStats): void {
    this.stats = stats;
    this.onStats(stats);
  }
}

/** A function, not an inline test: the socket's state changes across the awaits before it. */
function isOpen(socket: WebSocket): boolean {
  return socket.readyState === WebSocket.OPEN;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
