/**
 * Live sources read through OpenCV's VideoCapture: a V4L2 camera (index or /dev path) or a
 * network stream (rtsp://, http(s)://). Both deliver at their own pace; a read that yields no
 * frame means the camera or stream went away, and the pipeline reopens it.
 */
import { existsSync } from 'node:fs';
import cv, { type VideoCapture } from '@u4/opencv4nodejs';
import { type FrameSource, type Grab, type SourceInfo, grabTimes, redactSource } from './frame-source.js';

export interface CaptureRequest {
  width: number;
  height: number;
  fps: number;
}

/**
 * FFmpeg socket timeout (µs) for streams, unless the operator set OPENCV_FFMPEG_CAPTURE_OPTIONS.
 * Opening a capture is synchronous in the binding, so an unreachable host would otherwise block
 * the event loop (and the MQTT keepalive) for OpenCV's 30 s default.
 */
const STREAM_SOCKET_TIMEOUT_US = 5_000_000;

export class CaptureSource implements FrameSource {
  readonly live = true;
  readonly maxFps = undefined;
  readonly description: string;
  private capture: VideoCapture | undefined;

  constructor(
    private readonly source: string,
    private readonly kind: 'device' | 'stream',
    private readonly request: () => CaptureRequest,
  ) {
    this.description = redactSource(source);
  }

  async open(): Promise<SourceInfo> {
    this.close();
    const capture = this.kind === 'device' ? this.openDevice() : this.openStream();
    this.capture = capture;
    const info: SourceInfo = {
      width: capture.get(cv.CAP_PROP_FRAME_WIDTH),
      height: capture.get(cv.CAP_PROP_FRAME_HEIGHT),
      fps: capture.get(cv.CAP_PROP_FPS),
    };
    if (this.kind === 'device') info.format = decodeFourcc(capture.get(cv.CAP_PROP_FOURCC));
    if (!(info.width > 0 && info.height > 0)) {
      // Some streams only know their size once a frame arrived.
      const first = await capture.readAsync();
      if (first.empty) throw new Error(`${this.description} opened but delivers no frames`);
      info.width = first.cols;
      info.height = first.rows;
    }
    return info;
  }

  async read(): Promise<Grab> {
    const capture = this.capture;
    if (!capture) throw new Error(`${this.description} is not open`);
    const mat = await capture.readAsync();
    // Stamped when the read returned: the driver hands over the frame as soon as it is complete.
    const times = grabTimes();
    if (mat.empty) {
      throw new Error(this.kind === 'device' ? `camera ${this.description} stopped delivering frames` : `stream ${this.description} stopped delivering frames`);
    }
    return { mat, ...times };
  }

  close(): void {
    this.capture?.release();
    this.capture = undefined;
  }

  private openDevice(): VideoCapture {
    const isIndex = /^\d+$/.test(this.source);
    const path = isIndex ? `/dev/video${this.source}` : this.source;
    if (!existsSync(path)) throw new Error(`no such camera device: ${path}`);
    const capture = openCapture(isIndex ? Number(this.source) : this.source, cv.CAP_V4L2, `camera ${this.description}`);
    const wanted = this.request();
    // MJPG first: most USB cameras reach their full frame rate at larger sizes only in MJPG.
    capture.set(cv.CAP_PROP_FOURCC, cv.VideoWriter.fourcc('MJPG'));
    capture.set(cv.CAP_PROP_FRAME_WIDTH, wanted.width);
    capture.set(cv.CAP_PROP_FRAME_HEIGHT, wanted.height);
    capture.set(cv.CAP_PROP_FPS, wanted.fps);
    return capture;
  }

  private openStream(): VideoCapture {
    if (!process.env.OPENCV_FFMPEG_CAPTURE_OPTIONS) {
      // Read by OpenCV at every open; setting process.env sets the real environment.
      process.env.OPENCV_FFMPEG_CAPTURE_OPTIONS = `timeout;${STREAM_SOCKET_TIMEOUT_US}`;
    }
    return openCapture(this.source, cv.CAP_FFMPEG, `stream ${this.description}`);
  }
}

export function openCapture(target: string | number, apiPreference: number, what: string): VideoCapture {
  try {
    return new cv.VideoCapture(target, apiPreference);
  } catch (error) {
    throw new Error(`cannot open ${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function decodeFourcc(code: number): string {
  const n = Math.round(code);
  if (!(n > 0)) return 'unknown';
  return String.fromCharCode(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >> 24) & 0xff).replace(/[^\x20-\x7e]/g, '?');
}
