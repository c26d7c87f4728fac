/**
 * Turns a grabbed frame into the payload to publish: the source's own JPEG as it is
 * (passthrough) when nothing needs changing, else decode (if needed) -> resize -> optional
 * overlay -> JPEG encode. Keeps every payload within MQTT_MAX_PAYLOAD_BYTES by stepping the
 * quality down, and remembers the step so later frames start there instead of being encoded twice.
 */
import cv, { type Mat } from '@u4/opencv4nodejs';
import { fitSize, type FrameMeta, type JpegInfo, readJpegInfo, withFrameMeta } from '@camqtt/wire';
import type { Grab } from './sources/frame-source.js';

export interface EncodeOptions {
  width: number;
  height: number;
  quality: number;
  /** The source's JPEGs may be published as they are (CAPTURE_PASSTHROUGH, no quality command). */
  passthrough: boolean;
  /** Text drawn onto the frame with the capture time (VIDEO_OVERLAY), or undefined. */
  overlay: string | undefined;
}

/** What the status shows of the encoder; the capture helper sends it with each frame it encodes. */
export interface EncoderState {
  /** Whether the last frame was passed through. */
  passthrough: boolean;
  /** Why frames are encoded below the asked quality or not sent. */
  warning: string | undefined;
  /** Set while the source is smaller than the asked size, so frames go out at the source's size. */
  sizeWarning: string | undefined;
  /** Quality frames are actually encoded at, when below the asked one. */
  encodeQuality: number | undefined;
}

/**
 * What the pipeline needs of an encoder: FrameEncoder here, or one in the capture helper process
 * (HelperFrameEncoder) for the sources read there, so their frames never cross the pipe raw.
 */
export interface FrameEncoding {
  readonly state: EncoderState;
  /** Settings changed (quality, size): the size cap is measured afresh. */
  reset(): void;
  /** The payload for a regular frame, or undefined when it cannot fit under the cap. */
  encode(grab: Grab, asked: EncodeOptions, meta: FrameMeta): Promise<Encoded | undefined>;
  /** A snapshot: always re-encoded at `quality` (stepped down only as far as the cap needs). */
  encodeSnapshot(grab: Grab, options: EncodeOptions, quality: number, meta: FrameMeta): Promise<Encoded | undefined>;
}

export interface Encoded {
  payload: Uint8Array;
  /** The quality used; undefined for a passed-through JPEG. */
  quality: number | undefined;
}

/** Below this, a JPEG is mush: a frame still over the cap here is dropped. */
const MIN_QUALITY = 5;
const QUALITY_STEP = 0.75;

/**
 * Why a grabbed JPEG cannot be published as it is, or undefined if it can. The size must match
 * exactly: passthrough never resizes.
 */
export function passthroughRefusal(info: JpegInfo | undefined, options: EncodeOptions): string | undefined {
  if (!options.passthrough) return 'passthrough off';
  if (options.overlay !== undefined) return 'overlay';
  if (!info) return 'unreadable JPEG header';
  if (info.width !== options.width || info.height !== options.height)
    return `size ${info.width}x${info.height} is not ${options.width}x${options.height}`;
  if (!info.hasHuffmanTables) return 'no Huffman tables (browsers cannot decode it)';
  return undefined;
}

export class FrameEncoder implements FrameEncoding {
  /** Highest quality that kept frames under the cap, once a frame was over it. */
  private ceiling: number | undefined;
  private capWarning: string | undefined;
  private lastPassedThrough = false;
  private smallSourceWarning: string | undefined;

  constructor(readonly maxPayloadBytes: number) {}

  get state(): EncoderState {
    return {
      passthrough: this.lastPassedThrough,
      warning: this.capWarning,
      sizeWarning: this.smallSourceWarning,
      encodeQuality: this.ceiling,
    };
  }

  /** Settings changed (quality, size): the size cap is measured afresh. */
  reset(): void {
    this.ceiling = undefined;
    this.capWarning = undefined;
  }

  /** The payload for a regular frame, or undefined when it cannot fit under the cap. */
  async encode(grab: Grab, asked: EncodeOptions, meta: FrameMeta): Promise<Encoded | undefined> {
    const info = grab.jpeg ? readJpegInfo(grab.jpeg) : undefined;
    const options = this.withinSource(asked, info ?? (grab.mat ? { width: grab.mat.cols, height: grab.mat.rows } : undefined));
    if (grab.jpeg && this.ceiling === undefined && passthroughRefusal(info, options) === undefined) {
      const payload = withFrameMeta(grab.jpeg, meta);
      if (payload.length <= this.maxPayloadBytes) {
        this.lastPassedThrough = true;
        return { payload, quality: undefined };
      }
    }
    this.lastPassedThrough = false;
    const mat = await this.prepare(grab, options, meta.captureTime);
    const start = Math.min(options.quality, this.ceiling ?? options.quality);
    const encoded = await this.fit(mat, start, meta).finally(() => releaseIntermediate(mat, grab));
    if (!encoded) {
      this.capWarning = `frames over MQTT_MAX_PAYLOAD_BYTES (${this.maxPayloadBytes}) even at quality ${MIN_QUALITY}: not sent; lower the resolution`;
      return undefined;
    }
    if (encoded.quality < options.quality && encoded.quality !== this.ceiling) {
      this.ceiling = encoded.quality;
      this.capWarning = `frames over MQTT_MAX_PAYLOAD_BYTES (${this.maxPayloadBytes}) at quality ${options.quality}: quality stepped down to ${encoded.quality}`;
    }
    return encoded;
  }

  /** A snapshot: always re-encoded at `quality` (stepped down only as far as the cap needs). */
  async encodeSnapshot(grab: Grab, options: EncodeOptions, quality: number, meta: FrameMeta): Promise<Encoded | undefined> {
    const mat = await this.prepare(grab, options, meta.captureTime);
    return await this.fit(mat, quality, { ...meta, snapshot: true }).finally(() => releaseIntermediate(mat, grab));
  }

  /**
   * The asked size, scaled down (proportions kept) to fit the source's frame: scaling up costs
   * CPU and memory for a bigger picture that shows nothing more. `clear`: a source that fits
   * clears the warning; prepare() passes false, as encode() already fitted its options, and
   * re-fitting those cleared the warning of every re-encoded frame.
   */
  private withinSource(options: EncodeOptions, source: { width: number; height: number } | undefined, clear = true): EncodeOptions {
    if (!source) return options;
    const fitted = fitSize(options.width, options.height, source.width, source.height);
    const smaller = fitted.width !== options.width || fitted.height !== options.height;
    if (smaller) {
      this.smallSourceWarning = `not scaled up: the source delivers ${source.width}x${source.height}, so frames are ${fitted.width}x${fitted.height} (asked ${options.width}x${options.height})`;
    } else if (clear) {
      this.smallSourceWarning = undefined;
    }
    return smaller ? { ...options, ...fitted } : options;
  }

  /** The pixels to encode: the grab's own Mat, or a decoded and/or resized one the caller releases. */
  private async prepare(grab: Grab, asked: EncodeOptions, captureTime: number): Promise<Mat> {
    let mat = grab.mat ?? (await cv.imdecodeAsync(Buffer.from(grab.jpeg!.buffer, grab.jpeg!.byteOffset, grab.jpeg!.byteLength)));
    if (mat.empty) {
      releaseIntermediate(mat, grab);
      throw new Error('the source delivered a frame that does not decode');
    }
    const options = this.withinSource(asked, { width: mat.cols, height: mat.rows }, false);
    if (mat.cols !== options.width || mat.rows !== options.height) {
      const resized = await mat.resizeAsync(options.height, options.width);
      releaseIntermediate(mat, grab);
      mat = resized;
    }
    if (options.overlay !== undefined) drawOverlay(mat, options.overlay, captureTime);
    return mat;
  }

  /** Encodes at `quality`, stepping down until the payload fits; undefined if it never does. */
  private async fit(mat: Mat, quality: number, meta: FrameMeta): Promise<(Encoded & { quality: number }) | undefined> {
    let q = quality;
    for (;;) {
      const jpeg = await cv.imencodeAsync('.jpg', mat, [cv.IMWRITE_JPEG_QUALITY, q]);
      const payload = withFrameMeta(jpeg, meta);
      if (payload.length <= this.maxPayloadBytes) return { payload, quality: q };
      if (q <= MIN_QUALITY) return undefined;
      q = Math.max(MIN_QUALITY, Math.min(q - 1, Math.floor(q * QUALITY_STEP)));
    }
  }
}

/** Frees a Mat the encoder made (see FrameLoop on why Mats are freed at once); the grab's own is the loop's. */
function releaseIntermediate(mat: Mat, grab: Grab): void {
  if (mat !== grab.mat) mat.release();
}

const WHITE = new cv.Vec3(255, 255, 255);
const BLACK = new cv.Vec3(0, 0, 0);

/** Camera id and capture time (local, to the ms) on a dark strip at the bottom left. */
function drawOverlay(mat: Mat, label: string, captureTime: number): void {
  const scale = Math.max(0.4, Math.min(mat.cols / 640, mat.rows / 480) * 0.6);
  const thickness = Math.max(1, Math.round(scale * 2));
  const text = `${label}  ${formatTime(captureTime)}`;
  const { size, baseLine } = cv.getTextSize(text, cv.FONT_HERSHEY_SIMPLEX, scale, thickness);
  const pad = Math.round(6 * scale);
  const top = Math.max(0, mat.rows - size.height - baseLine - 2 * pad);
  mat.drawRectangle(new cv.Point2(0, top), new cv.Point2(Math.min(mat.cols - 1, size.width + 2 * pad), mat.rows - 1), BLACK, cv.FILLED);
  mat.putText(text, new cv.Point2(pad, mat.rows - baseLine - pad), cv.FONT_HERSHEY_SIMPLEX, scale, WHITE, thickness, cv.LINE_AA);
}

export function formatTime(epochMs: number): string {
  const t = new Date(epochMs);
  const pad = (n: number, digits = 2): string => String(n).padStart(digits, '0');
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${pad(t.getMilliseconds(), 3)}`;
}
