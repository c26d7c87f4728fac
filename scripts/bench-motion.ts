/**
 * The motion detector's cost per frame (`npm run bench:motion`): 640x480 JPEGs of FFmpeg's moving
 * testsrc2 at the camera's default quality, scored by the recorder's MotionDetector, against a
 * full colour decode of the same frames for scale. Prints ms per frame and the cores one 30 fps
 * camera costs at MOTION_FPS (every frame, and the default 10 per second). Then the recorder
 * itself: its CPU with one 640x480@30 testsrc camera, RECORD_MODE=off (no FFmpeg, so what is left
 * is MQTT intake and motion), with MOTION_DETECTION=false and true.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceProcess, startBroker, stopAllProcesses } from '@camqtt/test-support';
import { cpuSeconds } from './bench/proc-stats.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cv } from './bench/opencv.js';
import { MotionDetector } from '../services/recorder/src/motion/motion-detector.js';

const FRAMES = 300;
const ROUNDS = 5;
const RECORDER_WARMUP_S = 5;
const RECORDER_MEASURE_S = 20;

function testFrames(width: number, height: number): Buffer[] {
  const dir = mkdtempSync(join(tmpdir(), 'camqtt-bench-motion-'));
  try {
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${width}x${height}:rate=30`,
      '-frames:v',
      String(FRAMES),
      '-q:v',
      '8',
      join(dir, '%04d.jpg'),
    ]);
    return readdirSync(dir)
      .sort()
      .map((name) => readFileSync(join(dir, name)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Median over rounds of the CPU ms per call of `work` on every frame. */
function msPerFrame(frames: Buffer[], work: (jpeg: Buffer, index: number) => void): number {
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const before = process.cpuUsage();
    frames.forEach(work);
    const used = process.cpuUsage(before);
    rounds.push((used.user + used.system) / 1000 / frames.length);
  }
  return rounds.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
}

console.log(
  '| picture | motion detection ms/frame | full decode ms/frame | cores, 30 fps camera, detecting every frame | at MOTION_FPS=10 |',
);
console.log('| --- | --- | --- | --- | --- |');
for (const [width, height] of [
  [640, 480],
  [1280, 720],
  [1920, 1080],
] as const) {
  const frames = testFrames(width, height);
  const detector = new MotionDetector({ threshold: 25, mask: [{ x: 0, y: 0, width: 1, height: 0.1 }] });
  const detect = msPerFrame(frames, (jpeg, index) => detector.score(jpeg, index * 200));
  const decode = msPerFrame(frames, (jpeg) => cv.imdecode(jpeg).release());
  detector.reset();
  console.log(
    `| ${width}x${height} | ${detect.toFixed(2)} | ${decode.toFixed(2)} | ${((detect * 30) / 1000).toFixed(3)} | ${((detect * 10) / 1000).toFixed(3)} |`,
  );
}

/** The recorder's cores over RECORDER_MEASURE_S with one testsrc camera, motion on or off. */
async function recorderCores(motion: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'camqtt-bench-motion-'));
  try {
    const broker = startBroker(dir, 'cam1:camera,recorder:recorder');
    const env = (user: string): Record<string, string> => ({
      MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
      MQTT_USERNAME: user,
      MQTT_PASSWORD_FILE: join(dir, 'passwords', user),
      LOG_LEVEL: 'info',
    });
    const mqttPort = await broker.port('mqtt');
    ServiceProcess.start('publisher', { ...env('cam1'), CAMERA_ID: 'cam1', CAMERA_SOURCE: 'testsrc', HA_DISCOVERY: 'false' });
    const recorder = ServiceProcess.start('recorder', { ...env('recorder'), RECORD_MODE: 'off', MOTION_DETECTION: String(motion) });
    await recorder.waitForLog((line) => line.msg === 'connected to the MQTT broker');
    await sleep(RECORDER_WARMUP_S * 1000);
    const before = cpuSeconds(recorder.pid) ?? NaN;
    await sleep(RECORDER_MEASURE_S * 1000);
    return ((cpuSeconds(recorder.pid) ?? NaN) - before) / RECORDER_MEASURE_S;
  } finally {
    await stopAllProcesses();
    rmSync(dir, { recursive: true, force: true });
  }
}

const off = await recorderCores(false);
const on = await recorderCores(true);
console.log(
  `\nRecorder, one 640x480@30 testsrc camera, RECORD_MODE=off, ${RECORDER_MEASURE_S} s: ${off.toFixed(3)} cores with MOTION_DETECTION=false, ${on.toFixed(3)} with true (MOTION_FPS=10).`,
);
