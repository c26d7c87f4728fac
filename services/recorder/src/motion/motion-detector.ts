/**
 * Cheap motion detection on one camera's JPEGs: the frame is decoded already downscaled (libjpeg
 * scales in the DCT, so a 1/4 or 1/8 grey decode costs a fraction of a full one), blurred against
 * sensor noise, and compared with a background that follows the scene slowly. The score is the
 * share of the unmasked picture whose grey level differs from the background by more than the
 * threshold.
 */
import './quiet-opencv-loader.js';
import cv, { type Mat } from '@u4/opencv4nodejs';
import { readJpegInfo } from '@camqtt/wire';
import type { PictureRect } from '@camqtt/service-kit';

/** The reduced picture is at least this wide: a person across a 640-wide view still covers dozens of its pixels. */
const MIN_DETECTION_WIDTH = 160;
/** Seconds over which the background follows a lasting change (a parked car, the light of dusk). */
const BACKGROUND_TIME_S = 5;
/** After a gap this long (camera offline, a pause) the old background is stale: start again. */
const STALE_BACKGROUND_MS = BACKGROUND_TIME_S * 1000;
const BLUR_SIZE = new cv.Size(5, 5);
/**
 * More of the picture than this changing at once is the light (a lamp, the camera's switch to
 * infrared, auto-exposure), not something moving: the background starts again from this frame
 * (Frigate's lightning_threshold, with its default).
 */
const LIGHT_CHANGE_SHARE = 0.8;

export interface MotionDetectorOptions {
  /** MOTION_THRESHOLD: grey levels a pixel must differ by. */
  threshold: number;
  /** MOTION_MASK: regions to ignore. */
  mask: readonly PictureRect[];
}

/** The decode flag that gives the smallest picture still at least MIN_DETECTION_WIDTH wide. */
export function reducedDecodeFlag(width: number): number {
  if (width >= MIN_DETECTION_WIDTH * 8) return cv.IMREAD_REDUCED_GRAYSCALE_8;
  if (width >= MIN_DETECTION_WIDTH * 4) return cv.IMREAD_REDUCED_GRAYSCALE_4;
  if (width >= MIN_DETECTION_WIDTH * 2) return cv.IMREAD_REDUCED_GRAYSCALE_2;
  return cv.IMREAD_GRAYSCALE;
}

export class MotionDetector {
  /** Running average of the blurred picture, 32-bit float as accumulateWeighted wants. */
  private background: Mat | undefined;
  /** 255 where motion counts, 0 in masked regions; undefined without a mask. */
  private countMask: Mat | undefined;
  private countedPixels = 0;
  private lastCaptureTime = 0;

  constructor(private readonly options: MotionDetectorOptions) {}

  /**
   * Share (0..1) of the unmasked picture that changed, or undefined when this frame only (re)starts
   * the background (the first frame, a new size, after a gap, or when the light changed). Throws on a frame that is not a JPEG.
   */
  score(jpeg: Uint8Array, captureTime: number): number | undefined {
    const info = readJpegInfo(jpeg);
    if (!info) throw new Error('not a JPEG with a readable header');
    const grey = cv.imdecode(Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength), reducedDecodeFlag(info.width));
    const blurred = grey.gaussianBlur(BLUR_SIZE, 0);
    grey.release();
    const elapsedMs = captureTime - this.lastCaptureTime;
    this.lastCaptureTime = captureTime;
    const background = this.background;
    if (
      !background ||
      background.rows !== blurred.rows ||
      background.cols !== blurred.cols ||
      elapsedMs > STALE_BACKGROUND_MS ||
      elapsedMs < 0
    ) {
      this.restart(blurred);
      return undefined;
    }
    const backgroundGrey = background.convertTo(cv.CV_8U);
    const difference = blurred.absdiff(backgroundGrey);
    const changed = difference.threshold(this.options.threshold, 255, cv.THRESH_BINARY);
    const counted = this.countMask ? changed.bitwiseAnd(this.countMask) : changed;
    const score = this.countedPixels > 0 ? counted.countNonZero() / this.countedPixels : 0;
    if (score > LIGHT_CHANGE_SHARE) {
      for (const mat of new Set([backgroundGrey, difference, changed, counted])) mat.release();
      this.restart(blurred);
      return undefined;
    }
    // The weight of this frame for a background that forgets over BACKGROUND_TIME_S whatever the detection rate.
    cv.accumulateWeighted(blurred, background, 1 - Math.exp(-elapsedMs / 1000 / BACKGROUND_TIME_S));
    for (const mat of new Set([backgroundGrey, difference, changed, counted, blurred])) mat.release();
    return score;
  }

  /** Frees the native pictures; the next frame starts a new background. */
  reset(): void {
    this.background?.release();
    this.countMask?.release();
    this.background = undefined;
    this.countMask = undefined;
  }

  private restart(blurred: Mat): void {
    this.reset();
    this.background = blurred.convertTo(cv.CV_32F);
    const { rows, cols } = blurred;
    blurred.release();
    this.countedPixels = rows * cols;
    if (this.options.mask.length === 0) return;
    const mask = new cv.Mat(rows, cols, cv.CV_8UC1, 255);
    for (const rect of this.options.mask) {
      const x0 = Math.floor(rect.x * cols);
      const y0 = Math.floor(rect.y * rows);
      const x1 = Math.min(cols, Math.ceil((rect.x + rect.width) * cols));
      const y1 = Math.min(rows, Math.ceil((rect.y + rect.height) * rows));
      if (x1 > x0 && y1 > y0) mask.getRegion(new cv.Rect(x0, y0, x1 - x0, y1 - y0)).setTo(0);
    }
    this.countedPixels = mask.countNonZero();
    this.countMask = mask;
  }
}
