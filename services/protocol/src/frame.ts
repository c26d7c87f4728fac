/**
 * The camqtt frame format: one complete, standard JPEG whose COM (comment) segment carries the
 * camera id, sequence number and capture time. Any image viewer still opens the payload; camqtt's
 * parts read the metadata from the comment without decoding the image.
 *
 * This file must stay free of Node APIs: the browser page bundles it too.
 */

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

export type JpegCheck = { ok: true } | { ok: false; reason: string };

const MARKER = 0xff;
const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const COM = 0xfe;
const APP0 = 0xe0;
const APP15 = 0xef;
/** The comment starts with this, so a comment someone else wrote is never taken for ours. */
const COMMENT_PREFIX = '{"camqtt":1,';
const MAX_SEGMENT_DATA = 0xffff - 2;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Cheap structural check of a payload: starts with SOI and ends with EOI. Decodes nothing. */
export function checkJpeg(bytes: Uint8Array): JpegCheck {
  if (bytes.length < 4) return { ok: false, reason: `too short for a JPEG (${bytes.length} bytes)` };
  if (bytes[0] !== MARKER || bytes[1] !== SOI || bytes[2] !== MARKER) {
    return { ok: false, reason: 'not a JPEG (no SOI marker at the start)' };
  }
  if (bytes[bytes.length - 2] !== MARKER || bytes[bytes.length - 1] !== EOI) {
    return { ok: false, reason: 'truncated JPEG (no EOI marker at the end)' };
  }
  return { ok: true };
}

interface Segment {
  marker: number;
  /** Offset of the 0xFF that starts the segment. */
  start: number;
  /** Offset just past the segment. */
  end: number;
}

/**
 * Walks the header segments after SOI up to (not including) SOS. Stops quietly at anything
 * malformed: callers only ever need the well-formed prefix.
 */
function* headerSegments(bytes: Uint8Array): Generator<Segment> {
  if (bytes.length < 4 || bytes[0] !== MARKER || bytes[1] !== SOI) return;
  let pos = 2;
  while (pos + 4 <= bytes.length && bytes[pos] === MARKER) {
    const marker = bytes[pos + 1]!;
    if (marker === SOS || marker === EOI || marker === MARKER) return;
    const length = (bytes[pos + 2]! << 8) | bytes[pos + 3]!;
    const end = pos + 2 + length;
    if (length < 2 || end > bytes.length) return;
    yield { marker, start: pos, end };
    pos = end;
  }
}

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
  for (const segment of headerSegments(jpeg)) {
    if (segment.marker < APP0 || segment.marker > APP15) break;
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
  for (const segment of headerSegments(jpeg)) {
    if (segment.marker !== COM) continue;
    const meta = parseComment(jpeg.subarray(segment.start + 4, segment.end));
    if (meta) return meta;
  }
  return undefined;
}
