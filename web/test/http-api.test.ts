/**
 * The relay's HTTP endpoints with real parts: snapshots, the MJPEG stream as ffprobe/ffmpeg read
 * it, control commands arriving on the camera's control topic, per-camera metrics, camera
 * selection over the WebSocket, and foreign-origin WebSocket upgrades refused.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { WebSocket } from 'ws';
import { checkJpeg, readFrameMeta, Topics } from '@camqtt/wire';
import { type ServiceProcess, TestBroker, waitFor } from '@camqtt/test-support';
import {
  connectPublisher,
  FakeCamera,
  makeJpegs,
  metric,
  PREFIX,
  TestViewer,
  startRelayUnderTest,
  type RelayUnderTest,
} from './support.js';

const run = promisify(execFile);
const topics = new Topics(PREFIX);
let stack: RelayUnderTest | undefined;
let broker: TestBroker;
let relay: ServiceProcess;
let baseUrl: string;
let publisher: MqttClient;
const cameras: FakeCamera[] = [];
const viewers: TestViewer[] = [];

before(async () => {
  const jpegs = await makeJpegs(10);
  // No camera answers here: a command is 202 after this wait for its answer (2 s outside tests).
  stack = await startRelayUnderTest({ CAMQTT_TEST_ANSWER_TIMEOUT_MS: '300' });
  ({ broker, relay, baseUrl, publisher } = stack);
  for (const id of ['front', 'back']) {
    await publisher.publishAsync(topics.status(id), JSON.stringify({ camera: id, online: true }), { qos: 1, retain: true });
    cameras.push(new FakeCamera(publisher, id, jpegs, 50));
  }
});

after(async () => {
  for (const camera of cameras) camera.stop();
  await Promise.all(viewers.map((viewer) => viewer.close()));
  await stack?.stop();
});

test('a snapshot is 404 before the first frame, then the newest JPEG', async () => {
  const missing = await fetch(`${baseUrl}/api/cameras/front/snapshot.jpg`);
  assert.equal(missing.status, 404);
  assert.equal((await fetch(`${baseUrl}/api/cameras/..%2F..%2Fetc/snapshot.jpg`)).status, 404);
  for (const camera of cameras) camera.start();
  const response = await waitFor('a snapshot of front', async () => {
    const answer = await fetch(`${baseUrl}/api/cameras/front/snapshot.jpg`);
    return answer.status === 200 ? answer : undefined;
  });
  assert.equal(response.headers.get('content-type'), 'image/jpeg');
  const jpeg = new Uint8Array(await response.arrayBuffer());
  assert.deepEqual(checkJpeg(jpeg), { ok: true });
  assert.equal(readFrameMeta(jpeg)?.camera, 'front');
});

test('ffprobe and ffmpeg read the MJPEG stream: JPEG frames of the camera, in order', async () => {
  const url = `${baseUrl}/api/cameras/front/stream.mjpg`;
  const probe = await run(
    'ffprobe',
    ['-v', 'error', '-read_intervals', '%+#5', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', url],
    { timeout: 30_000 },
  );
  const { streams } = JSON.parse(probe.stdout) as { streams: Array<{ codec_name: string; width: number; height: number }> };
  assert.deepEqual(
    streams.map((s) => [s.codec_name, s.width, s.height]),
    [['mjpeg', 320, 240]],
  );

  const dir = await mkdtemp(join(tmpdir(), 'camqtt-mjpeg-'));
  try {
    await run('ffmpeg', ['-v', 'error', '-i', url, '-frames:v', '8', '-c', 'copy', '-f', 'image2', join(dir, 'f%02d.jpg')], {
      timeout: 30_000,
    });
    const names = (await readdir(dir)).sort();
    assert.equal(names.length, 8);
    const seqs = await Promise.all(names.map(async (name) => readFrameMeta(await readFile(join(dir, name)))?.seq ?? NaN));
    // Newest wins may skip frames for a slow reader, but never reorders or repeats them.
    for (let i = 1; i < seqs.length; i += 1) assert.ok(seqs[i]! > seqs[i - 1]!, `seq ${seqs[i]} after ${seqs[i - 1]}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal((await fetch(`${baseUrl}/api/cameras/nobody/stream.mjpg`)).status, 404);
  await waitFor(
    'the MJPEG streams counted and closed',
    async () =>
      (await metric(baseUrl, 'camqtt_web_frames_sent_total', { camera: 'front', transport: 'mjpeg' })) >= 9 &&
      (await metric(baseUrl, 'camqtt_web_viewers', { transport: 'mjpeg' })) === 0,
  );
});

test("a control command is checked, then published on the camera's control topic", async () => {
  const received: unknown[] = [];
  const listener = await connectPublisher(broker.url);
  try {
    await listener.subscribeAsync(topics.control('front'), { qos: 1 });
    listener.on('message', (_topic, payload) => received.push(JSON.parse(payload.toString())));
    const post = (camera: string, body: string, type = 'application/json') =>
      fetch(`${baseUrl}/api/cameras/${camera}/control`, { method: 'POST', headers: { 'Content-Type': type }, body });

    for (const [body, why] of [
      ['{"fps":0}', /fps must be a whole number from 1 to 120/],
      ['{"fps":15,"colour":"red"}', /unknown key "colour"/],
      ['{}', /empty command/],
      ['[1]', /JSON object/],
      ['{not json', /bad request body/],
    ] as const) {
      const answer = await post('front', body);
      assert.equal(answer.status, 400, body);
      assert.match(((await answer.json()) as { error: string }).error, why);
    }
    assert.equal((await post('front', 'fps=15', 'application/x-www-form-urlencoded')).status, 415);
    assert.equal((await post('nobody', '{"fps":15}')).status, 404);

    const accepted = await post('front', '{"width":160,"height":120,"quality":40}');
    assert.equal(accepted.status, 202);
    await waitFor('the command on the control topic', () => received.length === 1);
    assert.deepEqual(received, [{ width: 160, height: 120, quality: 40 }]);

    // 8K at 120 fps is capped at VIDEO_MAX_WIDTH x VIDEO_MAX_HEIGHT (default 1920x1080, the same
    // proportions) and VIDEO_MAX_FPS (60) before it is sent, and the answer says so.
    const huge = await post('front', '{"width":7680,"height":4320,"fps":120,"id":"huge"}');
    assert.equal(huge.status, 202);
    const answer = (await huge.json()) as { sent: unknown; capped?: string[] };
    assert.deepEqual(answer.sent, { id: 'huge', width: 1920, height: 1080, fps: 60 });
    assert.deepEqual(answer.capped, [
      'fps 120 capped to 60 (VIDEO_MAX_FPS)',
      "size 7680x4320 capped to 1920x1080 (the relay's VIDEO_MAX_WIDTH x VIDEO_MAX_HEIGHT: 1920x1080)",
    ]);
    await waitFor('the capped command on the control topic', () => received.length === 2);
    assert.deepEqual(received[1], { id: 'huge', width: 1920, height: 1080, fps: 60 });
  } finally {
    await listener.endAsync();
  }
});

test('/metrics counts frames in and out, drops by reason, and bytes, per camera', async () => {
  const watcher = await TestViewer.connect(baseUrl);
  viewers.push(watcher);
  await waitFor('frames at the viewer', () => watcher.frames.length > 5);
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  for (const series of [
    'camqtt_web_frames_received_total{camera="front"}',
    'camqtt_web_received_bytes_total{camera="back"}',
    'camqtt_web_frames_sent_total{camera="front",transport="ws"}',
    'camqtt_web_sent_bytes_total{camera="front",transport="ws"}',
    'camqtt_web_viewers{transport="ws"}',
    'camqtt_web_cameras',
  ]) {
    assert.ok(text.includes(series), `metrics have ${series}`);
  }
  assert.match(text, /# HELP camqtt_web_frames_dropped_total .*invalid_payload.*replaced/);
  assert.ok((await metric(baseUrl, 'camqtt_web_sent_bytes_total', { camera: 'front', transport: 'ws' })) > 0);
  await watcher.close();
});

test('a viewer that selects one camera gets only that camera, and "*" brings back all', async () => {
  const watcher = await TestViewer.connect(baseUrl);
  viewers.push(watcher);
  await watcher.event('hello');
  await waitFor('frames of both cameras', () => new Set(watcher.frames.map((f) => f.camera)).size === 2);
  watcher.socket.send(JSON.stringify({ type: 'select', cameras: ['back'] }));
  // Frames already on their way may still come; after a few more, only `back` arrives.
  await waitFor('some frames after selecting', () => watcher.frames.length > 0 && watcher.frames.at(-1)!.camera === 'back');
  const mark = watcher.frames.length;
  await waitFor('10 more frames', () => watcher.frames.length >= mark + 10);
  assert.deepEqual([...new Set(watcher.frames.slice(mark).map((f) => f.camera))], ['back']);

  watcher.socket.send(JSON.stringify({ type: 'select', cameras: [] }));
  watcher.socket.send(JSON.stringify({ type: 'select', cameras: '*' }));
  const again = watcher.frames.length;
  await waitFor('both cameras again', () => new Set(watcher.frames.slice(again).map((f) => f.camera)).size === 2);
  watcher.socket.send(JSON.stringify({ type: 'select', cameras: 'front' }));
  await watcher.event('error', (event) => /select/.test(event.message));
});

test("a WebSocket upgrade from a foreign page is refused; the relay's own origin is accepted", async () => {
  const host = new URL(baseUrl).host;
  const foreign = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`, { headers: { Origin: 'https://evil.example' } });
  const status = await new Promise<number>((resolve, reject) => {
    foreign.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    foreign.on('open', () => reject(new Error('a foreign origin was let in')));
    foreign.on('error', () => {});
  });
  foreign.terminate();
  assert.equal(status, 403);
  const own = await TestViewer.connect(baseUrl, { Origin: `http://${host}` });
  viewers.push(own);
  await own.event('hello');
});

test('with no VIEWER_PASSWORD the relay says so at start', () => {
  const warning = relay.lines.find((line) => typeof line.msg === 'string' && line.msg.startsWith('no VIEWER_PASSWORD set'));
  assert.ok(warning, 'a warning about the missing password');
  assert.equal(warning.level, 40);
  assert.match(String(warning.msg), /this machine only/);
});
