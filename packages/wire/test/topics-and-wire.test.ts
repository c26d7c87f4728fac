import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Topics } from '../src/topics.js';
import { decodeViewerFrame, encodeViewerFrame, parseViewerRequest } from '../src/viewer-wire.js';
import { parseCameraStatus } from '../src/status.js';

test('topics are <prefix>/<camera>/<kind> and parse back', () => {
  const topics = new Topics('home/cams');
  assert.equal(topics.frame('cam1'), 'home/cams/cam1/frame');
  assert.equal(topics.status('cam1'), 'home/cams/cam1/status');
  assert.equal(topics.control('cam1'), 'home/cams/cam1/control');
  assert.equal(topics.all('frame'), 'home/cams/+/frame');
  assert.deepEqual(topics.parse('home/cams/cam1/status'), { camera: 'cam1', kind: 'status' });
  for (const foreign of ['home/cams/cam1/other', 'home/cams/cam1', 'other/cam1/frame', 'home/cams/a/b/frame', 'home/cams/+/frame']) {
    assert.equal(topics.parse(foreign), undefined, foreign);
  }
});

test('a viewer frame carries camera, relay time and the payload untouched', () => {
  const payload = new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);
  const message = encodeViewerFrame('cam-\u00e9', 1764000000123.5, payload);
  const frame = decodeViewerFrame(message);
  assert.ok(frame);
  assert.equal(frame.camera, 'cam-\u00e9');
  assert.equal(frame.receivedAt, 1764000000123.5);
  assert.deepEqual([...frame.payload], [...payload]);
});

test('anything else is not a viewer frame', () => {
  assert.equal(decodeViewerFrame(new Uint8Array()), undefined);
  assert.equal(decodeViewerFrame(new Uint8Array([2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 65, 1])), undefined);
  assert.equal(decodeViewerFrame(new Uint8Array([1, 200, 0, 0, 0, 0, 0, 0, 0, 0, 65])), undefined);
});

test('a browser selects cameras with a select message; anything else is an error to send back', () => {
  assert.deepEqual(parseViewerRequest('{"type":"select","cameras":"*"}'), { type: 'select', cameras: '*' });
  assert.deepEqual(parseViewerRequest('{"type":"select","cameras":["cam1","cam2","cam1"]}'), { type: 'select', cameras: ['cam1', 'cam2'] });
  assert.deepEqual(parseViewerRequest('{"type":"select","cameras":[]}'), { type: 'select', cameras: [] });
  for (const [text, why] of [
    ['{nope', /malformed/],
    ['[1,2]', /malformed/],
    ['{"cameras":"*"}', /malformed/],
    ['{"type":"subscribe"}', /unknown message type "subscribe"/],
    ['{"type":"select"}', /cameras/],
    ['{"type":"select","cameras":["a/b"]}', /cameras/],
    ['{"type":"select","cameras":[1]}', /cameras/],
  ] as const) {
    const parsed = parseViewerRequest(text);
    assert.ok('error' in parsed, text);
    assert.match(parsed.error, why, text);
  }
});

test("a status that carries the camera's own error parses as a status, not as an invalid one", () => {
  const text = '{"camera":"cam1","online":true,"error":"video file not found: /x.mp4"}';
  assert.deepEqual(parseCameraStatus(new TextEncoder().encode(text)), {
    status: { camera: 'cam1', online: true, error: 'video file not found: /x.mp4' },
  });
  assert.match((parseCameraStatus(new TextEncoder().encode('{"online":true}')) as { invalid: string }).invalid, /schema/);
  assert.deepEqual(parseCameraStatus(new TextEncoder().encode('{nope')), { invalid: 'status is not JSON' });
});
