/**
 * The passthrough decision and the JPEG header reader behind it, on real JPEGs from OpenCV
 * (no camera needed): what can be published as it came, and what must be re-encoded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import cv from '@u4/opencv4nodejs';
import { type EncodeOptions, passthroughRefusal } from '../src/frame-encoder.js';
import { readJpegInfo } from '@camqtt/wire';

function jpeg(width: number, height: number): Uint8Array {
  return new Uint8Array(cv.imencode('.jpg', new cv.Mat(height, width, cv.CV_8UC3, [40, 90, 160]), [cv.IMWRITE_JPEG_QUALITY, 80]));
}

/** The same JPEG without its DHT segments, as many USB cameras send MJPG frames. */
function withoutHuffmanTables(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 2)];
  let pos = 2;
  while (bytes[pos + 1] !== 0xda) {
    const length = (bytes[pos + 2]! << 8) | bytes[pos + 3]!;
    if (bytes[pos + 1] !== 0xc4) parts.push(bytes.subarray(pos, pos + 2 + length));
    pos += 2 + length;
  }
  parts.push(bytes.subarray(pos));
  return Buffer.concat(parts);
}

const wanted: EncodeOptions = { width: 320, height: 240, quality: 60, passthrough: true, overlay: undefined };

test('the header reader finds size and Huffman tables without decoding', () => {
  assert.deepEqual(readJpegInfo(jpeg(320, 240)), { width: 320, height: 240, hasHuffmanTables: true });
  assert.deepEqual(readJpegInfo(withoutHuffmanTables(jpeg(64, 48))), { width: 64, height: 48, hasHuffmanTables: false });
  for (const bad of [
    new Uint8Array(),
    new Uint8Array([0xff, 0xd8]),
    new TextEncoder().encode('not a jpeg'),
    jpeg(32, 32).subarray(0, 20),
  ]) {
    assert.equal(readJpegInfo(bad), undefined);
  }
});

test('a JPEG passes through only at exactly the wanted size, with passthrough on, no overlay and its own Huffman tables', () => {
  const info = readJpegInfo(jpeg(320, 240));
  assert.equal(passthroughRefusal(info, wanted), undefined);
  assert.match(passthroughRefusal(readJpegInfo(jpeg(640, 480)), wanted) ?? '', /size 640x480/);
  assert.equal(passthroughRefusal(info, { ...wanted, passthrough: false }), 'passthrough off');
  assert.equal(passthroughRefusal(info, { ...wanted, overlay: 'cam1' }), 'overlay');
  assert.match(passthroughRefusal(readJpegInfo(withoutHuffmanTables(jpeg(320, 240))), wanted) ?? '', /Huffman/);
  assert.equal(passthroughRefusal(undefined, wanted), 'unreadable JPEG header');
  // OpenCV itself still decodes the frame without tables, which is what the re-encode path relies on.
  const decoded = cv.imdecode(Buffer.from(withoutHuffmanTables(jpeg(320, 240))));
  assert.deepEqual([decoded.cols, decoded.rows], [320, 240]);
});
