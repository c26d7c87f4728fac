/**
 * JPEG structure, read without decoding anything: the start/end check every payload gets, the
 * header walk the frame metadata uses, and what passthrough needs to know (size, Huffman tables).
 * The one place camqtt parses JPEG segments.
 */

export type JpegCheck = { ok: true } | { ok: false; reason: string };

export const MARKER = 0xff;
export const SOI = 0xd8;
export const EOI = 0xd9;
export const SOS = 0xda;
export const DHT = 0xc4;
export const COM = 0xfe;
export const APP0 = 0xe0;
export const APP15 = 0xef;
const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

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

export interface JpegSegment {
  marker: number;
  /** Offset of the 0xFF that starts the segment. */
  start: number;
  /** Offset just past the segment (for SOS: past its header; the scan data follows). */
  end: number;
}

/**
 * Walks the header segments after SOI, up to and including SOS. Stops quietly at anything
 * malformed (the last segment seen is then not SOS): callers only ever need the well-formed prefix.
 */
export function* jpegHeaderSegments(bytes: Uint8Array): Generator<JpegSegment> {
  if (bytes.length < 4 || bytes[0] !== MARKER || bytes[1] !== SOI) return;
  let pos = 2;
  while (pos + 4 <= bytes.length && bytes[pos] === MARKER) {
    const marker = bytes[pos + 1]!;
    if (marker === MARKER) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === EOI) return;
    const length = (bytes[pos + 2]! << 8) | bytes[pos + 3]!;
    const end = pos + 2 + length;
    if (length < 2 || end > bytes.length) return;
    yield { marker, start: pos, end };
    if (marker === SOS) return;
    pos = end;
  }
}

/**
 * What passthrough needs from a JPEG's header: the size, and whether it carries its own Huffman
 * tables. Many USB cameras send MJPG frames without DHT segments (the decoder is expected to know
 * the standard tables); libjpeg copes, but browsers do not, so such frames must be re-encoded.
 */
export interface JpegInfo {
  width: number;
  height: number;
  hasHuffmanTables: boolean;
}

/** undefined when the bytes are not a well-formed JPEG header with a frame size before SOS. */
export function readJpegInfo(bytes: Uint8Array): JpegInfo | undefined {
  let size: { width: number; height: number } | undefined;
  let hasHuffmanTables = false;
  for (const { marker, start, end } of jpegHeaderSegments(bytes)) {
    if (marker === DHT) hasHuffmanTables = true;
    if (SOF_MARKERS.has(marker) && end - start >= 9) {
      size = { height: (bytes[start + 5]! << 8) | bytes[start + 6]!, width: (bytes[start + 7]! << 8) | bytes[start + 8]! };
    }
    if (marker === SOS) return size ? { ...size, hasHuffmanTables } : undefined;
  }
  return undefined;
}
