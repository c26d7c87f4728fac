/**
 * Messages between the publisher and its capture helper process (see capture-helper.ts). Free of
 * OpenCV so both sides can import it.
 */
import type { FrameMeta } from '@camqtt/wire';
import type { EncodeOptions, EncoderState } from '../frame-encoder.js';
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

/** Turn the frame the helper holds (the last one read) into the payload to publish. */
export interface EncodeJob {
  options: EncodeOptions;
  /** Goes into the JPEG comment, and counts towards the size cap. */
  meta: FrameMeta;
  /** MQTT_MAX_PAYLOAD_BYTES */
  maxPayloadBytes: number;
  /** Settings changed since the last job: the size cap is measured afresh. */
  resetEncoder: boolean;
  /** A snapshot, re-encoded at this quality (SNAPSHOT_QUALITY); absent for a regular frame. */
  snapshotQuality?: number;
}

export type HelperRequest = { type: 'open'; spec: OpenSpec } | { type: 'read' } | { type: 'encode'; job: EncodeJob } | { type: 'close' };

export type HelperReply =
  | { type: 'opened'; info: SourceInfo }
  | { type: 'failed'; message: string }
  /**
   * One frame was read and is held in the helper until the next read: its pixels (or the
   * source's own JPEG) never cross the pipe, only the JPEG to publish does ('encoded').
   */
  | { type: 'frame'; captureTime: number; width: number; height: number }
  /** The held frame's payload (undefined: over the size cap even at the lowest quality) and the encoder's state after it. */
  | { type: 'encoded'; payload: Uint8Array | undefined; quality: number | undefined; state: EncoderState }
  | { type: 'closed' };
