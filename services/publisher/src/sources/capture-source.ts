/**
 * Live sources read through OpenCV's VideoCapture in the capture helper process: a V4L2 camera
 * (index or /dev path) or a network stream (rtsp://, http(s)://). Both deliver at their own
 * pace; a read that yields no frame means the camera or stream went away, and the pipeline
 * reopens it. Opening and reading happen in the helper, so a URL that takes seconds to answer
 * never stalls this process (MQTT keepalive, status, control).
 */
import { existsSync } from 'node:fs';
import { performanceNowAt, redactCredentials } from '@camqtt/wire';
import { CaptureProcess } from '../capture/capture-process.js';
import type { HelperReply } from '../capture/capture-messages.js';
import { HelperFrameEncoder } from '../capture/helper-frame-encoder.js';
import type { FrameEncoding } from '../frame-encoder.js';
import { type FrameSource, type Grab, type SourceInfo } from './frame-source.js';

export interface CaptureRequest {
  width: number;
  height: number;
  fps: number;
}

export class CaptureSource implements FrameSource {
  readonly live = true;
  readonly maxFps = undefined;
  readonly description: string;
  private readonly helper = new CaptureProcess();
  private opened = false;

  /** @param passthrough take the source's JPEGs undecoded when it delivers MJPEG (CAPTURE_PASSTHROUGH) */
  constructor(
    private readonly source: string,
    private readonly kind: 'device' | 'stream',
    private readonly request: () => CaptureRequest,
    private readonly passthrough: boolean,
  ) {
    this.description = redactCredentials(source);
  }

  private get what(): string {
    return this.kind === 'device' ? `camera ${this.description}` : `stream ${this.description}`;
  }

  async open(): Promise<SourceInfo> {
    const isIndex = /^\d+$/.test(this.source);
    if (this.kind === 'device') {
      const path = isIndex ? `/dev/video${this.source}` : this.source;
      if (!existsSync(path)) throw new Error(`no such camera device: ${path}`);
    }
    const wanted = this.request();
    const target = this.kind === 'device' && isIndex ? Number(this.source) : this.source;
    const reply = this.expect(
      await this.helper.request({ type: 'open', spec: { kind: this.kind, target, ...wanted, passthrough: this.passthrough } }),
      'opened',
      (why) => `cannot open ${this.what}: ${why}`,
    );
    this.opened = true;
    const info = { ...reply.info };
    if (!(info.width > 0 && info.height > 0)) {
      // Some streams only know their size once a frame arrived.
      const size = (await this.read()).held;
      if (!(size && size.width > 0 && size.height > 0)) throw new Error(`${this.what} delivers frames of unknown size`);
      info.width = size.width;
      info.height = size.height;
    }
    return info;
  }

  async read(): Promise<Grab> {
    if (!this.opened) throw new Error(`${this.what} is not open`);
    const reply = this.expect(await this.helper.request({ type: 'read' }), 'frame', (why) => `${this.what} ${why}`);
    // The helper's epoch time, on our monotonic clock for pacing (same machine, same clocks).
    const grabbedAt = performanceNowAt(reply.captureTime);
    return { held: { width: reply.width, height: reply.height }, captureTime: reply.captureTime, grabbedAt };
  }

  /** The frame stays in the helper and is encoded there: only the JPEG to publish crosses the pipe. */
  makeEncoder(maxPayloadBytes: number): FrameEncoding {
    return new HelperFrameEncoder(
      (request) => this.helper.request(request),
      maxPayloadBytes,
      (why) => new Error(`${this.what}: ${redactCredentials(why)}`),
    );
  }

  close(): void {
    if (!this.opened) return;
    this.opened = false;
    this.helper.request({ type: 'close' }).catch(() => {
      // The helper is gone or stopping: the source is released either way.
    });
  }

  async dispose(): Promise<void> {
    this.opened = false;
    await this.helper.stop();
  }

  private expect<T extends HelperReply['type']>(
    reply: HelperReply,
    type: T,
    failure: (why: string) => string,
  ): Extract<HelperReply, { type: T }> {
    // OpenCV's and FFmpeg's messages may quote the URL, password and all.
    if (reply.type === 'failed') throw new Error(failure(redactCredentials(reply.message)));
    if (reply.type !== type) throw new Error(`${this.what}: unexpected ${reply.type} from the capture helper`);
    return reply as Extract<HelperReply, { type: T }>;
  }
}
