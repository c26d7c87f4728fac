/**
 * Motion end to end: FFmpeg makes two video files, real publishers play them in a loop, the real
 * recorder watches both in RECORD_MODE=motion. One scene is still for 6 s, then a white box moves
 * across it for 3 s; the other is still with sensor noise (FFmpeg's temporal `noise` filter). A
 * client with the admin account reads the frames and finds in them when the box appears, so each
 * event is compared with the capture time of the motion it reports.
 */
import '../src/motion/quiet-opencv-loader.js';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import cv from '@u4/opencv4nodejs';
import { connectAsync, type MqttClient } from 'mqtt';
import { motionEventSchema, readFrameMeta, recordingDay, type MotionEvent } from '@camqtt/wire';
import { stopAllProcesses, waitFor } from '@camqtt/test-support';
import { startHarness, startPublisher, startRecorder, type Harness } from './support.js';

const run = promisify(execFile);
const PREROLL_S = 2;
const POSTROLL_S = 2;
/** The moving scene: still until MOTION_AT_S, the box moves until MOTION_END_S, still to the end. */
const MOTION_AT_S = 6;
const MOTION_END_S = 9;
const LOOP_S = 16;
/** How long the noisy still scene must raise nothing. */
const QUIET_S = 60;

let dir: string;
let harness: Harness;
let observer: MqttClient;
/** Capture times at which the box appeared in the moving camera's frames (one per loop of the file). */
const onsets: number[] = [];
let lastBoxFrame = 0;
let boxVisible = false;
const events = new Map<string, { event: MotionEvent; receivedAt: number }[]>();
let firstNoisyFrame: number | undefined;

async function makeVideos(): Promise<{ moving: string; noisy: string }> {
  const moving = join(dir, 'moving.avi');
  const noisy = join(dir, 'noisy.avi');
  // MJPEG in AVI: the publisher passes its JPEGs through, which keeps its CPU (and the test's) low.
  const scene = 'drawbox=x=60:y=60:w=120:h=90:color=0x909090:t=fill';
  await run('ffmpeg', [
    ...['-v', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `color=c=0x505050:size=640x480:rate=30:duration=${LOOP_S}`],
    ...['-f', 'lavfi', '-i', 'color=c=white:size=80x80:rate=30'],
    ...[
      '-filter_complex',
      `[0]${scene}[bg];[bg][1]overlay=x='100+(t-${MOTION_AT_S})*120':y=200:enable='between(t,${MOTION_AT_S},${MOTION_END_S})':shortest=1`,
    ],
    ...['-c:v', 'mjpeg', '-q:v', '4', moving],
  ]);
  await run('ffmpeg', [
    ...['-v', 'error', '-y'],
    ...['-f', 'lavfi', '-i', 'color=c=0x505050:size=640x480:rate=30:duration=10'],
    ...['-vf', `${scene},noise=alls=20:allf=t`],
    ...['-c:v', 'mjpeg', '-q:v', '4', noisy],
  ]);
  return { moving, noisy };
}

/** Whether the white box is in the frame: the scene is otherwise no brighter than grey 0x90. */
function showsBox(jpeg: Buffer): boolean {
  const grey = cv.imdecode(jpeg, cv.IMREAD_REDUCED_GRAYSCALE_4);
  const { maxVal } = grey.minMaxLoc();
  grey.release();
  return maxVal > 220;
}

function eventsOf(camera: string): { event: MotionEvent; receivedAt: number }[] {
  return events.get(camera) ?? [];
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'camqtt-motion-'));
  const videos = await makeVideos();
  harness = await startHarness(join(dir, 'broker'), ['moving', 'noisy']);
  observer = await connectAsync(harness.mqttsUrl, {
    ca: await readFile(harness.caFile),
    username: 'admin',
    password: await harness.password('admin'),
    reconnectPeriod: 0,
  });
  observer.on('message', (topic, payload) => {
    const [, camera, kind] = topic.split('/');
    if (kind === 'event' && camera && payload.length > 0) {
      const event = motionEventSchema.parse(JSON.parse(payload.toString('utf8')));
      events.set(camera, [...eventsOf(camera), { event, receivedAt: Date.now() }]);
      return;
    }
    const meta = readFrameMeta(payload);
    if (kind !== 'frame' || !meta) return;
    if (camera === 'noisy') {
      firstNoisyFrame ??= meta.captureTime;
      return;
    }
    const box = showsBox(payload);
    if (box && !boxVisible) onsets.push(meta.captureTime);
    if (box) lastBoxFrame = meta.captureTime;
    boxVisible = box;
  });
  await observer.subscribeAsync(['camqtt/+/frame', 'camqtt/+/event'], { qos: 0 });
  await startRecorder(harness, join(dir, 'recordings'), {
    RECORD_MODE: 'motion',
    RECORD_PREROLL_S: String(PREROLL_S),
    RECORD_POSTROLL_S: String(POSTROLL_S),
  });
  startPublisher(harness, 'moving', { CAMERA_SOURCE: videos.moving });
  startPublisher(harness, 'noisy', { CAMERA_SOURCE: videos.noisy });
});

after(async () => {
  await observer?.endAsync(true);
  await stopAllProcesses();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a box that starts to move raises a start event within 1 s of its first frame, and an end after the post-roll', async () => {
  const { event: start, receivedAt } = await waitFor(
    'a motion start',
    () => eventsOf('moving').find((e) => e.event.state === 'start'),
    60_000,
  );
  const onset = onsets.filter((time) => time <= start.start + 1).at(-1);
  assert.ok(onset !== undefined, `the box had appeared before the event's start (onsets ${onsets.join(', ')}; start ${start.start})`);
  const lag = start.start - onset;
  assert.ok(lag >= 0 && lag <= 1000, `the event starts at the motion's first frame or within 1 s of it (${lag} ms later)`);
  console.log(
    `# start event: motion first seen ${lag} ms after the box appeared, published ${receivedAt - onset} ms after it was captured`,
  );

  const end = await waitFor('its end', () => eventsOf('moving').find((e) => e.event.state === 'end' && e.event.id === start.id), 30_000);
  assert.ok(end.event.end! >= start.start && end.event.end! <= lastBoxFrame + 1, 'the end names the last moving frame');
  assert.ok(end.event.score > 0.01, `score ${end.event.score}`);
  console.log(`# end event ${end.receivedAt - end.event.end!} ms after the last moving frame (post-roll ${POSTROLL_S} s)`);

  const logged = await waitFor('the event in events.jsonl', async () => {
    const text = await readFile(join(dir, 'recordings', 'moving', recordingDay(start.start), 'events.jsonl'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => motionEventSchema.parse(JSON.parse(line)))
      .find((event) => event.id === start.id);
  });
  assert.deepEqual(logged, end.event, "the page's timeline reads the ended event from the day's events.jsonl");
});

test('the motion recording starts a pre-roll before the event', async () => {
  const end = await waitFor('an ended event', () => eventsOf('moving').find((e) => e.event.state === 'end'), 60_000);
  const dayDir = join(dir, 'recordings', 'moving', recordingDay(end.event.start));
  const segments = (await readdir(dayDir)).filter((name) => name.endsWith('.mp4')).map((name) => Number(name.slice(0, -4)));
  const first = segments.filter((startMs) => startMs <= end.event.start).sort((a, b) => b - a)[0];
  assert.ok(first !== undefined, `a segment starting before the motion (${segments.join(', ')} vs ${end.event.start})`);
  const preroll = (end.event.start - first) / 1000;
  assert.ok(
    Math.abs(preroll - PREROLL_S) < 0.5,
    `the segment starts ${preroll.toFixed(2)} s before the motion (RECORD_PREROLL_S=${PREROLL_S})`,
  );
  const file = join(dayDir, `${first}.mp4`);
  const probe = await run('ffprobe', [
    '-v',
    'error',
    '-count_frames',
    '-show_entries',
    'stream=nb_read_frames:format=duration',
    '-of',
    'json',
    file,
  ]);
  const { format, streams } = JSON.parse(probe.stdout) as { format: { duration: string }; streams: { nb_read_frames: string }[] };
  const expected = (end.event.end! + POSTROLL_S * 1000 - first) / 1000;
  console.log(
    `# motion segment: ${format.duration} s, ${streams[0]?.nb_read_frames} frames (pre-roll ${preroll.toFixed(2)} s, event ${((end.event.end! - end.event.start) / 1000).toFixed(2)} s)`,
  );
  assert.ok(
    Number(format.duration) >= expected - 1,
    `the segment holds pre-roll, motion and post-roll: ${format.duration} s, expected about ${expected.toFixed(1)}`,
  );
  // Its first frame is from before the motion: the still scene, no box.
  const still = await run('ffmpeg', ['-v', 'error', '-i', file, '-frames:v', '1', '-c:v', 'mjpeg', '-f', 'image2pipe', '-'], {
    encoding: 'buffer',
  });
  assert.equal(showsBox(still.stdout), false, 'the first recorded frame shows the scene before the box came');
});

test('a still scene with sensor noise raises no event over 60 s', async () => {
  await waitFor(
    `${QUIET_S} s of the noisy scene`,
    () => firstNoisyFrame !== undefined && Date.now() - firstNoisyFrame > QUIET_S * 1000,
    (QUIET_S + 30) * 1000,
  );
  assert.deepEqual(eventsOf('noisy'), []);
});
