/**
 * Quick figures for the publisher alone (the full benchmark is `npm run bench`): per-frame
 * latency capture -> socket (publisher's own measure) and capture -> a subscriber on the same
 * machine, and the publisher's CPU (its process plus the capture helper), at 640x480 and
 * 1280x720, 30 fps, from testsrc; then an MJPEG stream with passthrough on and off.
 *
 *   npx tsc -b services/publisher && node --import tsx services/publisher/test/measure.ts [seconds] [testsrc|stream]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceProcess, TestBroker } from '@camqtt/test-support';
import { MjpegCamera, TestSubscriber } from './support.js';

const SECONDS = Number(process.argv[2] ?? 10);
const TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** CPU seconds used so far by a process and its children still running (the capture helper). */
function cpuSeconds(pid: number): number {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .map(Number)
      .filter((n) => n > 0);
  } catch {
    // no children file: count the publisher alone
  }
  const pids = [pid, ...children];
  let ticks = 0;
  for (const p of pids) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // exited meanwhile
    }
  }
  return ticks / TICKS_PER_S;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function measure(broker: TestBroker, label: string, env: Record<string, string>): Promise<void> {
  const camera = `m${Math.random().toString(16).slice(2, 8)}`;
  const subscriber = await TestSubscriber.connect(broker.url, camera);
  const publisher = ServiceProcess.start('publisher', {
    MQTT_URL: broker.url,
    CAMERA_ID: camera,
    VIDEO_FPS: '30',
    STATUS_INTERVAL_S: '1',
    ...env,
  });
  try {
    await subscriber.nextFrame(() => true, 30_000);
    await sleep(3000); // warm-up
    const firstFrame = subscriber.frames.length;
    const firstLine = publisher.lines.length;
    const cpuStart = cpuSeconds(publisher.child.pid!);
    const start = performance.now();
    await sleep(SECONDS * 1000);
    const cpu = cpuSeconds(publisher.child.pid!) - cpuStart;
    const elapsed = (performance.now() - start) / 1000;
    const frames = subscriber.frames.slice(firstFrame);
    const endToEnd = frames.map((f) => f.receivedAt - (f.meta?.captureTime ?? NaN)).sort((a, b) => a - b);
    const stats = publisher.lines.slice(firstLine).filter((l) => l.msg === 'pipeline stats' && Number(l.frames) > 0);
    const p50s = stats.map((l) => Number(l.captureToSentP50Ms)).sort((a, b) => a - b);
    const p99s = stats.map((l) => Number(l.captureToSentP99Ms));
    const encodeMs = stats.map((l) => Number(l.encodeMs)).sort((a, b) => a - b);
    const bytes = frames.reduce((sum, f) => sum + f.payload.length, 0);
    console.log(
      JSON.stringify({
        label,
        fps: Math.round((frames.length / elapsed) * 10) / 10,
        cpuPercent: Math.round((cpu / elapsed) * 1000) / 10,
        captureToSocketMs: { p50: percentile(p50s, 0.5), p99: Math.max(...p99s) },
        captureToSubscriberMs: { p50: percentile(endToEnd, 0.5), p99: percentile(endToEnd, 0.99) },
        encodeMsMedian: percentile(encodeMs, 0.5),
        kBPerFrame: Math.round(bytes / Math.max(1, frames.length) / 100) / 10,
        passthroughFrames: stats.reduce((sum, l) => sum + Number(l.passedThrough), 0),
      }),
    );
  } finally {
    await publisher.stop();
    await subscriber.close();
  }
}

const broker = new TestBroker();
await broker.start();
const only = process.argv[3];
try {
  if (only !== 'stream')
    await measure(broker, 'testsrc 640x480@30 q60', { CAMERA_SOURCE: 'testsrc', VIDEO_WIDTH: '640', VIDEO_HEIGHT: '480' });
  if (only !== 'stream')
    await measure(broker, 'testsrc 1280x720@30 q60', { CAMERA_SOURCE: 'testsrc', VIDEO_WIDTH: '1280', VIDEO_HEIGHT: '720' });
  for (const [width, height] of only === 'testsrc'
    ? []
    : ([
        [640, 480],
        [1280, 720],
      ] as const)) {
    const camera = new MjpegCamera(width, height, 30);
    await camera.start();
    try {
      const env = { CAMERA_SOURCE: camera.url, VIDEO_WIDTH: String(width), VIDEO_HEIGHT: String(height) };
      await measure(broker, `MJPEG stream ${width}x${height}@30 passthrough`, { ...env, CAPTURE_PASSTHROUGH: 'true' });
      await measure(broker, `MJPEG stream ${width}x${height}@30 decode+re-encode q60`, { ...env, CAPTURE_PASSTHROUGH: 'false' });
    } finally {
      await camera.kill();
    }
  }
} finally {
  await broker.stop();
}
