/**
 * Reads what passthrough needs to know from a JPEG's header without decoding it: the size, and
 * whether it carries its own Huffman tables. Many USB cameras send MJPG frames without DHT
 * segments (the decoder is expected to know the standard tables); libjpeg copes, but browsers do
 * not, so such frames must be decoded and re-encoded instead of passed through.
 */
export interface JpegInfo {
  width: number;
  height: number;
  hasHuffmanTables: boolean;
}

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
const DHT = 0xc4;
const SOS = 0xda;

/** undefined when the bytes are not a well-formed JPEG header with a frame size before SOS. */
export function readJpegInfo(bytes: Uint8Array): JpegInfo | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let pos = 2;
  let size: { width: number; height: number } | undefined;
  let hasHuffmanTables = false;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) return undefined;
    const marker = bytes[pos + 1]!;
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    const length = (bytes[pos + 2]! << 8) | bytes[pos + 3]!;
    if (length < 2 || pos + 2 + length > bytes.length) return undefined;
    if (marker === DHT) hasHuffmanTables = true;
    if (SOF_MARKERS.has(marker) && length >= 7) {
      size = { height: (bytes[pos + 5]! << 8) | bytes[pos + 6]!, width: (bytes[pos + 7]! << 8) | bytes[pos + 8]! };
    }
    if (marker === SOS) return size ? { ...size, hasHuffmanTables } : undefined;
    pos += 2 + length;
  }
  return undefined;
}
