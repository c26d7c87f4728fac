/**
 * The camqtt frame format: one complete, standard JPEG whose COM (comment) segment carries the
 * camera id, sequence number and capture time. Any image viewer still opens the payload; camqtt's
 * parts read the metadata from the comment without decoding the image.
 *
 * This file must stay free of Node APIs: the browser page bundles it too.
 */
import { APP0, APP15, COM, MARKER, SOI, SOS, jpegHeaderSegments } from './jpeg.js';

export interface FrameMeta {
  /** Camera id, as in the topic `<prefix>/<camera>/frame`. */
  camera: string;
  /** Sequence number, +1 per published frame since the publisher started. */
  seq: number;
  /** When the frame was grabbed from the source, in ms since the Unix epoch (fractional). */
  captureTime: number;
  /**
   * True on a frame sent in answer to a snapshot command (encoded at the snapshot quality); absent
   * on ordinary frames. Viewers may show it like any frame.
   */
  snapshot?: boolean;
}

/** The comment starts with this, so a comment someone else wrote is never taken for ours. */
const COMMENT_PREFIX = '{"camqtt":1,';
const MAX_SEGMENT_DATA = 0xffff - 2;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function encodeComment(meta: FrameMeta): Uint8Array {
  const text = `${COMMENT_PREFIX}"camera":${JSON.stringify(meta.camera)},"seq":${meta.seq},"captureTime":${meta.captureTime}${meta.snapshot ? ',"snapshot":true' : ''}}`;
  const data = encoder.encode(text);
  if (data.length > MAX_SEGMENT_DATA) throw new RangeError('frame metadata too long for a JPEG comment');
  return data;
}

/**
 * Returns a new JPEG with a camqtt COM segment holding `meta`, placed after the APPn segments (so
 * JFIF/Exif stay first, as their specs want). Throws if `jpeg` does not start with SOI.
 */
export function withFrameMeta(jpeg: Uint8Array, meta: FrameMeta): Uint8Array {
  if (jpeg.length < 2 || jpeg[0] !== MARKER || jpeg[1] !== SOI) {
    throw new TypeError('withFrameMeta: payload is not a JPEG (no SOI marker)');
  }
  let insertAt = 2;
  for (const segment of jpegHeaderSegments(jpeg)) {
    if (segment.marker === SOS || segment.marker < APP0 || segment.marker > APP15) break;
    insertAt = segment.end;
  }
  const comment = encodeComment(meta);
  const out = new Uint8Array(jpeg.length + 4 + comment.length);
  out.set(jpeg.subarray(0, insertAt), 0);
  const length = comment.length + 2;
  out[insertAt] = MARKER;
  out[insertAt + 1] = COM;
  out[insertAt + 2] = length >> 8;
  out[insertAt + 3] = length & 0xff;
  out.set(comment, insertAt + 4);
  out.set(jpeg.subarray(insertAt), insertAt + 4 + comment.length);
  return out;
}

function parseComment(data: Uint8Array): FrameMeta | undefined {
  let text: string;
  try {
    text = decoder.decode(data);
  } catch {
    return undefined;
  }
  if (!text.startsWith(COMMENT_PREFIX)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { camera, seq, captureTime, snapshot } = value as Record<string, unknown>;
  if (typeof camera !== 'string' || !Number.isSafeInteger(seq) || typeof captureTime !== 'number') return undefined;
  if (!Number.isFinite(captureTime)) return undefined;
  const meta: FrameMeta = { camera, seq: seq as number, captureTime };
  if (snapshot === true) meta.snapshot = true;
  return meta;
}

/**
 * Reads camqtt metadata from a JPEG's header. Returns undefined for a plain JPEG, a comment that
 * is not ours, or malformed input; never throws.
 */
export function readFrameMeta(jpeg: Uint8Array): FrameMeta | undefined {
  for (const segment of jpegHeaderSegments(jpeg)) {
    if (segment.marker !== COM) continue;
    const meta = parseComment(jpeg.subarray(segment.start + 4, segment.end));
    if (meta) return meta;
  }
  return undefined;
}
