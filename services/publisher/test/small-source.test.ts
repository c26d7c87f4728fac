/**
 * A source smaller than the asked size (a camera that settled on less): frames go out at its
 * size, and the warning saying so stays while they do, for re-encoded frames too (the V4L2 test
 * found it cleared by every re-encode, so the status showed it only by chance).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import cv from '@u4/opencv4nodejs';
import { readJpegInfo } from '@camqtt/wire';
import { type EncodeOptions, FrameEncoder } from '../src/frame-encoder.js';

const asked: EncodeOptions = { width: 1280, height: 720, quality: 60, passthrough: true, overlay: undefined };
const meta = { camera: 'small', seq: 1, captureTime: 0 };
const picture = (width: number, height: number) => new cv.Mat(height, width, cv.CV_8UC3, [40, 90, 160]);

test('a smaller source keeps its warning on re-encoded frames, decoded or JPEG, until it fits again', async () => {
  const encoder = new FrameEncoder(1_000_000);
  const warning = 'not scaled up: the source delivers 640x480, so frames are 640x360 (asked 1280x720)';
  for (const grab of [{ mat: picture(640, 480) }, { jpeg: new Uint8Array(cv.imencode('.jpg', picture(640, 480))) }]) {
    const encoded = await encoder.encode({ ...grab, captureTime: 0, grabbedAt: 0 }, asked, meta);
    assert.deepEqual(readJpegInfo(encoded!.payload), { width: 640, height: 360, hasHuffmanTables: true });
    assert.equal(encoder.state.passthrough, false);
    assert.equal(encoder.state.sizeWarning, warning);
  }
  await encoder.encode({ mat: picture(1280, 720), captureTime: 0, grabbedAt: 0 }, asked, meta);
  assert.equal(encoder.state.sizeWarning, undefined);
});
