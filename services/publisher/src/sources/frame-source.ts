/**
 * What the pipeline needs from anything that yields frames: open, read one frame, close.
 */
import type { Mat } from '@u4/opencv4nodejs';
import { epochMsAt, readJpegInfo } from '@camqtt/wire';
import type { FrameEncoding } from '../frame-encoder.js';

/** What an opened source actually delivers (which may differ from what was asked). */
export interface SourceInfo {
  width: number;
  height: number;
  fps: number;
  /** Pixel format a camera settled on (e.g. MJPG, YUYV), when known. */
  format?: string;
  /** Streams: frames FFmpeg had buffered while opening, dropped as stale rather than sent late. */
  bufferedFramesSkipped?: number;
}

/**
 * One frame: decoded pixels, or the source's own JPEG when it delivers MJPEG and passthrough is on,
 * or (sources read in the capture helper) neither: the helper holds the frame and encodes it there.
 */
export interface Grab {
  /** Decoded BGR pixels (absent when `jpeg` or `held` is set). */
  mat?: Mat;
  /** The source's JPEG exactly as delivered, undecoded. */
  jpeg?: Uint8Array;
  /** The frame stays in the capture helper, which encodes it (see FrameSource.makeEncoder). */
  held?: { width: number; height: number };
  /** When the frame was grabbed, ms since the Unix epoch (fractional): goes into the frame metadata. */
  captureTime: number;
  /** The same instant on the monotonic clock (`performance.now()`), for pacing. */
  grabbedAt: number;
}

/**
 * A source is either live (a camera or a network stream: it delivers at its own pace and must be
 * read continuously, or its buffers fill with stale frames) or paced (a file or the test
 * pattern: it makes a frame when asked, so the pipeline asks only when a frame is due).
 */
export interface FrameSource {
  /** CAMERA_SOURCE with any password removed: safe for logs and the retained status. */
  readonly description: string;
  readonly live: boolean;
  /**
   * Paced sources only: the most frames per second worth asking for (a file's own fps), or
   * undefined for no limit of the source's own.
   */
  readonly maxFps: number | undefined;
  /** Opens (or reopens) the source; throws an Error with a readable message when it cannot. */
  open(): Promise<SourceInfo>;
  /** Resolves with the next frame; throws when the source failed and must be reopened. */
  read(): Promise<Grab>;
  /** Releases the source. Never called while a read is in flight. */
  close(): void;
  /**
   * Gives back everything for good, even while a read is in flight (which then rejects). For
   * sources read in a helper process; the others need nothing beyond close().
   */
  dispose?(): Promise<void>;
  /**
   * Sources read in a helper process: an encoder that encodes there, where the frame is, so only
   * the JPEG crosses the pipe. Absent: the pipeline encodes in this process (FrameEncoder).
   */
  makeEncoder?(maxPayloadBytes: number): FrameEncoding;
}

/**
 * `make()`'s value as a promise that rejects if it throws, for a source whose open or read has
 * nothing to wait for: callers get the rejection the FrameSource contract promises.
 */
export function settled<T>(make: () => T): Promise<T> {
  return new Promise((resolve) => {
    resolve(make());
  });
}

/** The frame's size, without decoding a JPEG; undefined for a JPEG without a readable header. */
export function grabSize(grab: Grab): { width: number; height: number } | undefined {
  if (grab.mat) return { width: grab.mat.cols, height: grab.mat.rows };
  if (grab.held) return grab.held;
  return grab.jpeg ? readJpegInfo(grab.jpeg) : undefined;
}

/** Wall-clock and monotonic time of "now", taken together. */
export function grabTimes(): { captureTime: number; grabbedAt: number } {
  const grabbedAt = performance.now();
  return { captureTime: epochMsAt(grabbedAt), grabbedAt };
}

/** Thrown by a source that has nothing more to give (a file played once): not retried. */
export class EndOfSourceError extends Error {
  override name = 'EndOfSourceError';
}

/** A FOURCC code as its four characters (MJPG, YUYV, ...). */
export function decodeFourcc(code: number): string {
  const n = Math.round(code);
  if (!(n > 0)) return 'unknown';
  return String.fromCharCode(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >> 24) & 0xff).replace(/[^\x20-\x7e]/g, '?');
}

export type SourceKind = 'testsrc' | 'device' | 'stream' | 'file';

/** How CAMERA_SOURCE is read: testsrc, a device index or /dev path, a URL, else a file. */
export function sourceKind(source: string): SourceKind {
  if (source === 'testsrc') return 'testsrc';
  if (/^\d+$/.test(source) || source.startsWith('/dev/')) return 'device';
  if (/^(rtsps?|rtmp|https?):\/\//i.test(source)) return 'stream';
  return 'file';
}
