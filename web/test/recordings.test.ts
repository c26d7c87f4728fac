/**
 * The relay's /api/recordings against real segments made by FFmpeg in the recorder's layout:
 * listing (days, segments, an open segment, motion events), HTTP Range, requests that try to
 * leave RECORD_DIR, a clip that ffprobe reads as one MP4 of the right length, snapshots, MJPEG
 * playback of JPEG-format recordings, the FFmpeg job limit, the viewer login in front of it all,
 * the recorder's motion events and states on the viewer WebSocket, and a relay without recordings.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkJpeg, Topics, type MotionEvent, type RecordingStatus } from '@camqtt/wire';
import { promisify } from 'node:util';
import { repoRoot, TestBroker } from '@camqtt/test-support';
import { connectPublisher, metric, PREFIX, startRelay, TestViewer } from './support.js';
import { makeSegment, probe, writeEvents, writeSecret, type MadeSegment } from './recordings-support.js';

const topics = new Topics(PREFIX);
const PASSWORD = 'recordings-test-password';
const auth = { Authorization: `Basic ${Buffer.from(`viewer:${PASSWORD}`).toString('base64')}` };
/** 2026-11-20 10:00:00 UTC */
const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
const DAY = '2026-11-20';

let workDir: string;
let recordDir: string;
let broker: TestBroker;
let baseUrl: string;
let stopRelay: () => Promise<void>;
const segments: MadeSegment[] = [];
let openSegment: MadeSegment;
const viewers: TestViewer[] = [];

const get = async (path: string, headers: Record<string, string> = {}): Promise<Response> =>
  await fetch(`${baseUrl}${path}`, { headers: { ...auth, ...headers } });

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'camqtt-recordings-'));
  recordDir = join(workDir, 'recordings');
  // Two contiguous 6-s H.264 segments, then after a gap one still being written (no entry).
  segments.push(await makeSegment(recordDir, 'cam1', T0, 6));
  segments.push(await makeSegment(recordDir, 'cam1', T0 + 6000, 6));
  openSegment = await makeSegment(recordDir, 'cam1', T0 + 60_000, 4, { entry: false });
  const openEnd = new Date(T0 + 63_900);
  await utimes(openSegment.path, openEnd, openEnd);
  await makeSegment(recordDir, 'jpegcam', T0, 5, { format: 'jpeg' });
  await makeSegment(recordDir, 'cam1', Date.UTC(2026, 10, 21, 8, 0, 0), 2);
  await makeSegment(recordDir, 'longjpeg', T0, 30, { format: 'jpeg' });
  await writeEvents(recordDir, [{ type: 'motion', state: 'end', id: 'm1', camera: 'cam1', start: T0 + 2000, end: T0 + 5000, score: 0.2 }]);
  // Beside RECORD_DIR, named like segments: nothing may reach these.
  await writeSecret(join(workDir, 'cam1', DAY, `${T0}.mp4`));
  await writeSecret(join(workDir, 'secret.mp4'));
  await writeFile(join(recordDir, 'cam1', DAY, 'segments.jsonl'), '{"torn line\n', { flag: 'a' });

  broker = await TestBroker.start();
  const relay = await startRelay(broker.url, 0, { env: { RECORD_DIR: recordDir, VIEWER_PASSWORD: PASSWORD } });
  baseUrl = relay.baseUrl;
  stopRelay = async () => {
    await relay.relay.stop();
  };
});

after(async () => {
  await Promise.all(viewers.map((viewer) => viewer.close()));
  await stopRelay?.();
  await broker?.stop();
  await rm(workDir, { recursive: true, force: true });
});

test('the recordings are behind the viewer login', async () => {
  for (const path of ['/api/recordings', '/api/recordings/cam1/days', `/api/recordings/cam1/${DAY}`, segments[0]!.url]) {
    const refused = await fetch(`${baseUrl}${path}`);
    assert.equal(refused.status, 401, path);
  }
  assert.equal((await get('/api/recordings')).status, 200);
});

test('lists the cameras, the days with recordings, and a day: segments, the open one, motion events', async () => {
  assert.deepEqual(await (await get('/api/recordings')).json(), { enabled: true, cameras: ['cam1', 'jpegcam', 'longjpeg'] });
  assert.deepEqual(await (await get('/api/recordings/cam1/days')).json(), { camera: 'cam1', days: [DAY, '2026-11-21'] });
  assert.deepEqual(await (await get('/api/recordings/nocam/days')).json(), { camera: 'nocam', days: [] });
  const day = (await (await get(`/api/recordings/cam1/${DAY}`)).json()) as {
    segments: { start: number; end: number; format: string; open: boolean; bytes: number }[];
    events: MotionEvent[];
  };
  assert.deepEqual(
    day.segments.map(({ start, end, format, open }) => ({ start, end, format, open })),
    [
      { start: segments[0]!.start, end: segments[0]!.end, format: 'h264', open: false },
      { start: segments[1]!.start, end: segments[1]!.end, format: 'h264', open: false },
      // No entry yet: its end is the file's modification time, its format read from the file.
      { start: openSegment.start, end: T0 + 63_900, format: 'h264', open: true },
    ],
  );
  assert.deepEqual(
    day.events.map((event) => event.id),
    ['m1'],
  );
  const jpeg = (await (await get(`/api/recordings/jpegcam/${DAY}`)).json()) as { segments: { format: string }[] };
  assert.deepEqual(
    jpeg.segments.map((segment) => segment.format),
    ['jpeg'],
  );
  assert.deepEqual(await (await get('/api/recordings/cam1/2026-01-01')).json(), {
    camera: 'cam1',
    day: '2026-01-01',
    segments: [],
    events: [],
  });
});

test('a segment is served whole or by HTTP Range', async () => {
  const file = await readFile(segments[0]!.path);
  const whole = await get(segments[0]!.url);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('content-type'), 'video/mp4');
  assert.equal(whole.headers.get('accept-ranges'), 'bytes');
  assert.deepEqual(Buffer.from(await whole.arrayBuffer()), file);
  const part = await get(segments[0]!.url, { Range: 'bytes=100-1099' });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 100-1099/${file.length}`);
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), file.subarray(100, 1100));
  const beyond = await get(segments[0]!.url, { Range: `bytes=${file.length + 10}-` });
  assert.equal(beyond.status, 416);
});

test('no request reaches a file outside RECORD_DIR, and bad requests get a clear 4xx', async () => {
  const attempts: [string, number][] = [
    [`/api/recordings/..%2F..%2Fsecret/days`, 400],
    [`/api/recordings/..%2Fcam1/${DAY}/${T0}.mp4`, 400],
    [`/api/recordings/cam1/..%2F..%2F/${T0}.mp4`, 400],
    [`/api/recordings/cam1/${DAY}/..%2F..%2F..%2Fsecret.mp4`, 400],
    [`/api/recordings/cam1/${DAY}/%2e%2e.mp4`, 400],
    [`/api/recordings/cam1/${DAY}/${T0}.mp4%00.txt`, 400],
    [`/api/recordings/cam1/2026-13-40/${T0}.mp4`, 400],
    [`/api/recordings/cam1/${DAY}/123.mp4`, 404],
    [`/api/recordings/cam1/clip.mp4?from=abc&to=${T0}`, 400],
    [`/api/recordings/cam1/clip.mp4?from=${T0 + 5000}&to=${T0}`, 400],
    [`/api/recordings/cam1/clip.mp4?from=${T0}&to=${T0 + 61 * 60_000}`, 400],
    [`/api/recordings/cam1/clip.mp4?from=${T0 - 600_000}&to=${T0 - 500_000}`, 404],
    [`/api/recordings/cam1/snapshot.jpg?at=-1`, 400],
    [`/api/recordings/cam1/snapshot.jpg`, 400],
    [`/api/recordings/cam1/snapshot.jpg?at=${T0 + 30_000}`, 404],
    [`/api/recordings/cam1/play.mjpg?from=${T0}`, 404],
  ];
  for (const [path, status] of attempts) {
    const answer = await get(path);
    assert.equal(answer.status, status, path);
    const body = (await answer.json()) as { error?: string };
    assert.ok(typeof body.error === 'string' && body.error.length > 0, `${path} says why`);
  }
  // A folder the relay may not read (root would read anything, so a file where a folder belongs).
  await writeFile(join(recordDir, 'cam1', '2026-11-22'), 'not a folder');
  assert.equal((await get('/api/recordings/cam1/2026-11-22')).status, 200, 'a day that is not a folder has no recordings');
  // A folder that cannot be read (a symbolic link to itself: root reads anything else) is a 500 that says why.
  await symlink(join(recordDir, 'cam1', '2026-11-23'), join(recordDir, 'cam1', '2026-11-23'));
  const unreadable = await get('/api/recordings/cam1/2026-11-23');
  assert.equal(unreadable.status, 500);
  assert.match(
    ((await unreadable.json()) as { error: string }).error,
    /could not read the recordings \(ELOOP\): check that the relay may read RECORD_DIR/,
  );
  assert.equal((await get('/api/recordings/cam1/days')).status, 200, 'the other days still list');
  // The relay is still up and serving.
  assert.equal((await get(segments[1]!.url)).status, 200);
});

test('a clip across two segments is one MP4, copied, as long as asked (from its keyframe)', async () => {
  // From 2 s into the first segment (a keyframe) to 3 s into the second: 7 s.
  const from = T0 + 2000;
  const to = T0 + 9000;
  const answer = await get(`/api/recordings/cam1/clip.mp4?from=${from}&to=${to}`);
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get('content-type'), 'video/mp4');
  assert.match(answer.headers.get('content-disposition') ?? '', /^attachment; filename="cam1-2026-11-20T10-00-02Z-7s\.mp4"$/);
  const file = join(workDir, 'clip.mp4');
  await writeFile(file, Buffer.from(await answer.arrayBuffer()));
  const read = await probe(file);
  assert.match(read.formatName, /mp4/);
  assert.deepEqual(
    read.streams.map((stream) => `${stream.codec_type}:${stream.codec_name}`),
    ['video:h264'],
  );
  assert.ok(Math.abs(read.duration - 7) <= 0.2, `clip is ${read.duration} s`);
  assert.ok(Math.abs(read.frames - 70) <= 2, `clip has ${read.frames} frames`);
});

test('a snapshot at a time is a JPEG of that moment', async () => {
  const answer = await get(`/api/recordings/cam1/snapshot.jpg?at=${T0 + 8500}`);
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get('content-type'), 'image/jpeg');
  assert.deepEqual(checkJpeg(new Uint8Array(await answer.arrayBuffer())), { ok: true });
  // The open segment too.
  assert.equal((await get(`/api/recordings/cam1/snapshot.jpg?at=${T0 + 61_000}`)).status, 200);
});

test('JPEG-format recordings: MJPEG playback from a time, clips of the JPEGs as they are', async () => {
  const stream = await get(`/api/recordings/jpegcam/play.mjpg?from=${T0 + 1000}`);
  assert.equal(stream.status, 200);
  assert.equal(stream.headers.get('content-type'), 'multipart/x-mixed-replace; boundary=ffmpeg');
  const reader = stream.body!.getReader();
  let received = Buffer.alloc(0);
  while (received.indexOf(Buffer.from([0xff, 0xd9])) < 0) {
    const { value, done } = await reader.read();
    if (done) break;
    received = Buffer.concat([received, Buffer.from(value)]);
  }
  await reader.cancel();
  const jpegStart = received.indexOf(Buffer.from([0xff, 0xd8]));
  assert.ok(received.subarray(0, jpegStart).toString('latin1').startsWith('--ffmpeg'), 'a multipart part');
  assert.deepEqual(checkJpeg(received.subarray(jpegStart, received.indexOf(Buffer.from([0xff, 0xd9])) + 2)), { ok: true });

  const clip = await get(`/api/recordings/jpegcam/clip.mp4?from=${T0 + 1000}&to=${T0 + 3000}`);
  assert.equal(clip.status, 200);
  const file = join(workDir, 'jpeg-clip.mp4');
  await writeFile(file, Buffer.from(await clip.arrayBuffer()));
  const read = await probe(file);
  assert.equal(read.streams[0]?.codec_name, 'mjpeg');
  assert.ok(Math.abs(read.duration - 2) <= 0.2, `clip is ${read.duration} s`);
});

/** A GET from one loopback address (a viewer of its own for the per-viewer limit); resolves at the response's head. */
async function getFrom(localAddress: string, path: string): Promise<{ status: number; close: () => void }> {
  const url = new URL(`${baseUrl}${path}`);
  return await new Promise((resolve, reject) => {
    const request = httpGet(url, { localAddress, headers: auth }, (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0, close: () => request.destroy() });
    });
    request.on('error', reject);
  });
}

/** Holds a playback open from `address` (retrying while a slot an earlier test used frees). */
async function holdPlayback(address: string): Promise<() => void> {
  for (;;) {
    const answer = await getFrom(address, `/api/recordings/jpegcam/play.mjpg?from=${T0}`);
    if (answer.status === 200) return answer.close;
    answer.close();
    assert.equal(answer.status, 503);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('FFmpeg jobs are bounded, per viewer and in all: one over a limit is told to come back, and a slot frees when a client leaves', async () => {
  // Playbacks run for the 5 s they play. Two per viewer (here: per address, the shared password).
  const closers = [await holdPlayback('127.0.0.1'), await holdPlayback('127.0.0.1')];
  const third = await getFrom('127.0.0.1', `/api/recordings/jpegcam/play.mjpg?from=${T0}`);
  third.close();
  assert.equal(third.status, 503, 'a third from the same viewer waits, though slots are free');
  closers.push(await holdPlayback('127.0.0.2'), await holdPlayback('127.0.0.2'));
  const busy = await getFrom('127.0.0.3', `/api/recordings/cam1/snapshot.jpg?at=${T0 + 1000}`);
  busy.close();
  assert.equal(busy.status, 503, 'all four slots taken: another viewer waits too');
  const retryAfter = await get(`/api/recordings/cam1/snapshot.jpg?at=${T0 + 1000}`);
  await retryAfter.arrayBuffer();
  assert.equal(retryAfter.headers.get('retry-after'), '5');
  for (const close of closers) close();
  const answer = await waitForStatus(`/api/recordings/cam1/snapshot.jpg?at=${T0 + 1000}`, 200);
  assert.equal(answer, 200);
  assert.ok((await metric(baseUrl, 'camqtt_web_recording_jobs_total', { kind: 'snapshot', result: 'busy' }, { headers: auth })) >= 1);
  assert.ok((await metric(baseUrl, 'camqtt_web_recording_jobs_total', { kind: 'clip', result: 'ok' }, { headers: auth })) >= 1);
});

async function waitForStatus(path: string, status: number): Promise<number> {
  for (let tries = 0; tries < 200; tries += 1) {
    const answer = await get(path);
    await answer.arrayBuffer();
    if (answer.status === status) return status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return 0;
}

test("the recorder's motion events and states reach the page; the event in progress is in the day's list", async () => {
  const publisher = await connectPublisher(broker.url);
  try {
    const status: RecordingStatus = {
      camera: 'cam1',
      state: 'recording',
      mode: 'continuous',
      format: 'h264',
      bytesPerHour: 42e6,
      diskFreeBytes: 12e9,
      updatedAt: Date.now(),
    };
    await publisher.publishAsync(topics.recording('cam1'), JSON.stringify(status), { qos: 1, retain: true });
    const ongoing: MotionEvent = { type: 'motion', state: 'start', id: 'm2', camera: 'cam1', start: T0 + 61_000, score: 0.4 };
    await publisher.publishAsync(topics.event('cam1'), JSON.stringify(ongoing), { qos: 1, retain: true });
    // Junk on the same topics is dropped; the relay stays up.
    await publisher.publishAsync(topics.event('cam1'), '{"type":"motion"', { qos: 1 });
    await publisher.publishAsync(topics.recording('cam2'), JSON.stringify({ state: 'nonsense' }), { qos: 1 });

    const viewer = await TestViewer.connect(baseUrl, auth);
    viewers.push(viewer);
    const hello = await viewer.event('hello');
    assert.equal(hello.recordings, true);
    assert.deepEqual(hello.recorders, [status]);
    assert.deepEqual(hello.motion, [ongoing]);

    const ended: MotionEvent = { ...ongoing, state: 'end', end: T0 + 62_000 };
    await publisher.publishAsync(topics.event('cam1'), JSON.stringify(ended), { qos: 1, retain: true });
    const update = await viewer.event('motion', (event) => event.event?.state === 'end');
    assert.deepEqual(update, { type: 'motion', camera: 'cam1', event: ended });
    await publisher.publishAsync(topics.recording('cam1'), JSON.stringify({ ...status, state: 'disk-full', lastError: 'no space left' }), {
      qos: 1,
      retain: true,
    });
    const full = await viewer.event('recording', (event) => event.status?.state === 'disk-full');
    assert.equal(full.status?.lastError, 'no space left');

    // While it runs, the event in progress is listed with the day's finished ones.
    await publisher.publishAsync(topics.event('cam1'), JSON.stringify({ ...ongoing, id: 'm3' }), { qos: 1, retain: true });
    await viewer.event('motion', (event) => event.event?.id === 'm3');
    const day = (await (await get(`/api/recordings/cam1/${DAY}`)).json()) as { events: MotionEvent[] };
    assert.deepEqual(
      day.events.map((event) => `${event.id}:${event.state}`),
      ['m1:end', 'm3:start'],
    );
    await publisher.publishAsync(topics.event('cam1'), '', { qos: 1, retain: true });
    await viewer.event('motion', (event) => event.event === undefined);
  } finally {
    await publisher.endAsync();
  }
});

test('a relay without RECORD_DIR, or with an empty one, works and says there are no recordings', async () => {
  const empty = join(workDir, 'empty');
  const settings: Record<string, string>[] = [{}, { RECORD_DIR: empty }];
  for (const env of settings) {
    const relay = await startRelay(broker.url, 0, { env });
    try {
      const list = (await (await fetch(`${relay.baseUrl}/api/recordings`)).json()) as {
        enabled: boolean;
        cameras: string[];
        reason?: string;
      };
      assert.deepEqual(list.cameras, []);
      assert.equal(list.enabled, 'RECORD_DIR' in env);
      if (!('RECORD_DIR' in env)) assert.match(list.reason ?? '', /no recordings: RECORD_DIR is not set/);
      assert.deepEqual(((await (await fetch(`${relay.baseUrl}/api/recordings/cam1/days`)).json()) as { days: string[] }).days, []);
      assert.equal((await fetch(`${relay.baseUrl}/api/recordings/cam1/${DAY}/${T0}.mp4`)).status, 404);
      assert.equal((await fetch(`${relay.baseUrl}/api/recordings/cam1/clip.mp4?from=${T0}&to=${T0 + 1000}`)).status, 404);
      assert.equal((await fetch(`${relay.baseUrl}/healthz`)).status, 200);
    } finally {
      await relay.relay.stop();
    }
  }
});

test("removing a viewer account ends that viewer's recording playback, as it does live streams", async () => {
  const usersFile = join(workDir, 'viewers');
  const passwordFile = join(workDir, 'bob.password');
  await writeFile(passwordFile, 'bobs-password', { mode: 0o600 });
  const mqttUser = async (...args: string[]): Promise<void> => {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/mqtt-user.ts', ...args], { cwd: repoRoot });
  };
  await mqttUser('add', usersFile, 'bob', '--password-file', passwordFile);
  const relay = await startRelay(broker.url, 0, { env: { RECORD_DIR: recordDir, VIEWER_USERS_FILE: usersFile } });
  try {
    const bob = { Authorization: `Basic ${Buffer.from('bob:bobs-password').toString('base64')}` };
    // 30 s of JPEGs played at their pace: it runs until something ends it.
    const stream = await fetch(`${relay.baseUrl}/api/recordings/longjpeg/play.mjpg?from=${T0}`, { headers: bob });
    assert.equal(stream.status, 200);
    const ended = (async () => {
      const reader = stream.body!.getReader();
      for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return;
    })();
    await mqttUser('remove', usersFile, 'bob');
    await relay.relay.waitForLog((line) => line.msg === 'viewer account removed or password changed, ending its recording stream');
    await ended;
  } finally {
    await relay.relay.stop();
  }
});
