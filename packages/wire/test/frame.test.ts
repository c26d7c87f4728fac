import assert from 'node:assert/strict';
import { test } from 'node:test';
import cv from '@u4/opencv4nodejs';
import { checkJpeg, readFrameMeta, withFrameMeta, type FrameMeta } from '../src/index.js';

const meta: FrameMeta = { camera: 'front-door', seq: 42, captureTime: 1764000000123.375 };

function realJpeg(): Uint8Array {
  const image = new cv.Mat(48, 64, cv.CV_8UC3, [30, 120, 200]);
  return new Uint8Array(cv.imencode('.jpg', image, [cv.IMWRITE_JPEG_QUALITY, 80]));
}

test('metadata written into a real JPEG reads back, and the image still decodes', () => {
  const jpeg = realJpeg();
  const tagged = withFrameMeta(jpeg, meta);
  assert.deepEqual(readFrameMeta(tagged), meta);
  assert.deepEqual(checkJpeg(tagged), { ok: true });
  const decoded = cv.imdecode(Buffer.from(tagged));
  assert.deepEqual([decoded.cols, decoded.rows], [64, 48]);
});

test('the comment goes after the JFIF APP0 segment, which stays first', () => {
  const jpeg = realJpeg();
  assert.deepEqual([...jpeg.subarray(2, 4)], [0xff, 0xe0], 'OpenCV writes JFIF first');
  const tagged = withFrameMeta(jpeg, meta);
  assert.deepEqual([...tagged.subarray(2, 4)], [0xff, 0xe0]);
  const app0End = 4 + ((jpeg[4]! << 8) | jpeg[5]!);
  assert.deepEqual([...tagged.subarray(app0End, app0End + 2)], [0xff, 0xfe]);
});

test("a plain JPEG, or one with somebody else's comment, has no camqtt metadata", () => {
  const jpeg = realJpeg();
  assert.equal(readFrameMeta(jpeg), undefined);
  const foreign = new TextEncoder().encode('{"camqtt":2} hello');
  const withForeign = new Uint8Array([0xff, 0xd8, 0xff, 0xfe, 0, foreign.length + 2, ...foreign, ...jpeg.subarray(2)]);
  assert.equal(readFrameMeta(withForeign), undefined);
});

test('the snapshot flag round-trips, and an ordinary frame has none', () => {
  const snapshot = { ...meta, snapshot: true };
  assert.deepEqual(readFrameMeta(withFrameMeta(realJpeg(), snapshot)), snapshot);
  assert.equal('snapshot' in readFrameMeta(withFrameMeta(realJpeg(), meta))!, false);
  assert.equal('snapshot' in readFrameMeta(withFrameMeta(realJpeg(), { ...meta, snapshot: false }))!, false);
});

test('camera ids with quotes or non-ASCII round-trip', () => {
  const odd = { ...meta, camera: 'k\u00fcche "2"' };
  assert.deepEqual(readFrameMeta(withFrameMeta(realJpeg(), odd)), odd);
});

test('malformed input never throws from readFrameMeta and fails checkJpeg with a reason', () => {
  const tagged = withFrameMeta(realJpeg(), meta);
  const samples: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array()],
    ['text', new TextEncoder().encode('hello, not a jpeg')],
    ['truncated', tagged.subarray(0, tagged.length / 2)],
    ['SOI only', new Uint8Array([0xff, 0xd8])],
  ];
  for (const [name, bytes] of samples) {
    assert.doesNotThrow(() => readFrameMeta(bytes), name);
    assert.equal(checkJpeg(bytes).ok, false, name);
  }
  // Lying segment lengths inside an SOI..EOI shell: no metadata, no exception.
  for (const bytes of [
    new Uint8Array([0xff, 0xd8, 0xff, 0xfe, 0xff, 0xff, 1, 2, 3, 0xff, 0xd9]),
    new Uint8Array([0xff, 0xd8, 0xff, 0xfe, 0x00, 0x00, 0xff, 0xd9]),
    new Uint8Array([0xff, 0xd8, 0xff, 0xfe, 0x00, 0x01, 0xff, 0xd9]),
  ]) {
    assert.equal(readFrameMeta(bytes), undefined);
  }
  assert.match((checkJpeg(tagged.subarray(0, 100)) as { reason: string }).reason, /truncated/);
  assert.match((checkJpeg(new TextEncoder().encode('GIF89a....')) as { reason: string }).reason, /not a JPEG/);
  // A truncated frame still carries readable metadata in its header: the relay can count it.
  assert.deepEqual(readFrameMeta(tagged.subarray(0, 200)), meta);
});

test('random bytes never make the reader throw', () => {
  let seed = 7;
  const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) & 0xff;
  for (let i = 0; i < 2000; i += 1) {
    const bytes = new Uint8Array(2 + (i % 300));
    bytes.forEach((_, j) => (bytes[j] = next()));
    bytes[0] = 0xff;
    bytes[1] = 0xd8;
    assert.doesNotThrow(() => readFrameMeta(bytes));
  }
});

test('withFrameMeta refuses a payload that is not a JPEG', () => {
  assert.throws(() => withFrameMeta(new Uint8Array([1, 2, 3]), meta), /not a JPEG/);
});
