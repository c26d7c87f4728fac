/**
 * A motion event never stays open because the recorder or the camera went away: stopped during motion, the
 * recorder publishes the event's end; killed during motion (its retained `start` left behind),
 * the next recorder ends that event when it starts. The scene moves all the time and the
 * post-roll is long, so only the recorder's going can end an event here.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { connectAsync, type MqttClient } from 'mqtt';
import { motionEventSchema, recordingDay, type MotionEvent } from '@camqtt/wire';
import { stopAllProcesses, waitFor, type ServiceProcess } from '@camqtt/test-support';
import { startHarness, startPublisher, startRecorder, type Harness } from './support.js';

const run = promisify(execFile);
let dir: string;
let harness: Harness;
let observer: MqttClient;
const events: MotionEvent[] = [];
let clearedAt: number | undefined;

function recorderEnv(): Record<string, string> {
  return { RECORD_MODE: 'off', RECORD_POSTROLL_S: '600', RECORD_METRICS_PORT: 'off' };
}

async function nextStart(after: number): Promise<MotionEvent> {
  return await waitFor('a motion start', () => events.slice(after).find((event) => event.state === 'start'), 30_000);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'camqtt-motion-restart-'));
  const video = join(dir, 'moving.avi');
  // A box that never stops moving (back and forth across the picture).
  await run('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=0x505050:size=640x480:rate=30:duration=8'],
    ...['-f', 'lavfi', '-i', 'color=c=white:size=80x80:rate=30'],
    ...['-filter_complex', "[0][1]overlay=x='280+200*sin(t)':y=200:shortest=1"],
    ...['-c:v', 'mjpeg', '-q:v', '4', video],
  ]);
  harness = await startHarness(join(dir, 'broker'), ['cam1']);
  observer = await connectAsync(harness.mqttsUrl, {
    ca: await readFile(harness.caFile),
    username: 'admin',
    password: await harness.password('admin'),
    reconnectPeriod: 0,
  });
  observer.on('message', (_topic, payload) => {
    if (payload.length > 0) events.push(motionEventSchema.parse(JSON.parse(payload.toString('utf8'))));
    else clearedAt = events.length;
  });
  await observer.subscribeAsync('camqtt/cam1/event', { qos: 1 });
  startPublisher(harness, 'cam1', { CAMERA_SOURCE: video });
});

after(async () => {
  await observer?.endAsync(true);
  await stopAllProcesses();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a recorder stopped during motion publishes the end of the event', async () => {
  const recorder: ServiceProcess = await startRecorder(harness, join(dir, 'recordings'), recorderEnv());
  const start = await nextStart(0);
  const seen = events.length;
  assert.equal(await recorder.stop(), 0);
  const end = await waitFor('its end', () => events.slice(seen).find((event) => event.state === 'end'), 10_000);
  assert.equal(end.id, start.id);
});

test('an event left open by a kill -9 is ended by the next recorder', async () => {
  const killed = await startRecorder(harness, join(dir, 'recordings'), recorderEnv());
  const start = await nextStart(events.length);
  killed.child.kill('SIGKILL');
  await waitFor('the recorder gone', () => killed.exited);
  const seen = events.length;
  const next = await startRecorder(harness, join(dir, 'recordings'), recorderEnv());
  const end = await waitFor('the old event ended', () => events.slice(seen).find((event) => event.id === start.id), 30_000);
  assert.equal(end.state, 'end');
  assert.equal(end.end, end.start, 'ended where it is known to have been: at its start');
  const eventLog = join(dir, 'recordings', 'cam1', recordingDay(start.start), 'events.jsonl');
  await waitFor("the event in the day's events.jsonl", async () => (await readFile(eventLog, 'utf8').catch(() => '')).includes(start.id));
  // And the new recorder goes on watching: the box still moves.
  assert.notEqual((await nextStart(seen)).id, start.id);
  await next.stop();
});

test('a camera that is gone (its retained status cleared) gets its event ended and its retained event cleared', async () => {
  const recorder = await startRecorder(harness, join(dir, 'recordings'), recorderEnv());
  const start = await nextStart(events.length);
  await observer.publishAsync('camqtt/cam1/status', '', { qos: 1, retain: true });
  await waitFor('the event ended', () => events.some((event) => event.id === start.id && event.state === 'end'));
  const ended = events.findIndex((event) => event.id === start.id && event.state === 'end');
  await waitFor('the retained event cleared', () => clearedAt !== undefined && clearedAt > ended);
  await recorder.stop();
});
