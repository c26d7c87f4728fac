/**
 * Messages between the publisher and its capture helper process (see capture-helper.ts). Free of
 * OpenCV so both sides can import it.
 */
import type { SourceInfo } from '../sources/frame-source.js';

export interface OpenSpec {
  kind: 'device' | 'stream';
  /** A device index or path, or a URL. */
  target: string | number;
  /** Asked of a camera; a stream delivers what it delivers. */
  width: number;
  height: number;
  fps: number;
  /** Take the source's JPEGs undecoded when it delivers MJPEG (CAPTURE_PASSTHROUGH). */
  passthrough: boolean;
}

export type HelperRequest = { type: 'open'; spec: OpenSpec } | { type: 'read' } | { type: 'close' };

export type HelperReply =
  | { type: 'opened'; info: SourceInfo; passthrough: boolean }
  | { type: 'failed'; message: string }
  /** One frame: either the source's own JPEG or decoded BGR pixels. */
  | { type: 'frame'; captureTime: number; jpeg?: Uint8Array; bgr?: { rows: number; cols: number; data: Uint8Array } }
  | { type: 'closed' };
