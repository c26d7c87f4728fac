/**
 * Quick figures for the relay: a real publisher (testsrc, 640x480 @ 30 fps, quality 60) through
 * an in-process Aedes broker to the built relay, watched by 1, 10 and 50 WebSocket viewers.
 * Prints relay CPU (from /proc, % of one core), and per viewer the frames per second received and
 * the latency capture -> arrival (same host, so one clock). The full benchmark is `npm run bench`.
 *
 *   npx tsc -b web && node --import tsx web/scripts/measure-fanout.ts [seconds per step]
 */
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { decodeViewerFrame, readFrameMeta } from '@camqtt/wire';
import { ServiceProcess, TestBroker, waitFor } from '@camqtt/test-support';
import { startRelay } from '../test/support.js';

const SECONDS = Number(process.argv[2] ?? 10);
const TICKS_PER_SECOND = 100;

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Counts frames and records latencies without keeping the frames (50 viewers x 30 fps adds up). */
class CountingViewer {
  frames = 0;
  frameBytes = 0;
  constructor(
    readonly socket: WebSocket,
    latencies: number[],
  ) {
    socket.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return;
      const frame = decodeViewerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      const meta = frame && readFrameMeta(frame.payload);
      if (!frame || !meta) return;
      this.frames += 1;
      this.frameBytes = frame.payload.length;
      latencies.push(Date.now() - meta.captureTime);
    });
  }

  static async connect(baseUrl: string, latencies: number[]): Promise<CountingViewer> {
    const viewer = new CountingViewer(new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`), latencies);
    await once(viewer.socket, 'open');
    return viewer;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const broker = await TestBroker.start();
const { relay, baseUrl } = await startRelay(broker.url, 0, { env: { LOG_LEVEL: 'info' } });
const camera = ServiceProcess.start('publisher', {
  MQTT_URL: broker.url,
  TOPIC_PREFIX: 'camqtt',
  CAMERA_ID: 'cam1',
  CAMERA_SOURCE: 'testsrc',
  VIDEO_WIDTH: '640',
  VIDEO_HEIGHT: '480',
  VIDEO_FPS: '30',
  JPEG_QUALITY: '60',
  LOG_LEVEL: 'info',
});
try {
  const warmup: number[] = [];
  const probe = await CountingViewer.connect(baseUrl, warmup);
  await waitFor('frames flowing', () => probe.frames > 30, 30_000);
  probe.socket.close();
  console.log('viewers | relay CPU % | fps per viewer (min / mean) | latency capture->viewer ms p50 / p95 / max | frame kB');
  for (const count of [1, 10, 50]) {
    const latencies: number[] = [];
    const viewers = await Promise.all(Array.from({ length: count }, () => CountingViewer.connect(baseUrl, latencies)));
    await waitFor('every viewer receiving', () => viewers.every((v) => v.frames > 5), 30_000);
    latencies.length = 0;
    const counts = viewers.map((v) => v.frames);
    const ticks = cpuTicks(relay.child.pid!);
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    const elapsed = (Date.now() - started) / 1000;
    const cpu = ((cpuTicks(relay.child.pid!) - ticks) / TICKS_PER_SECOND / elapsed) * 100;
    const fps = viewers.map((v, i) => (v.frames - counts[i]!) / elapsed);
    latencies.sort((a, b) => a - b);
    console.log(
      `${String(count).padStart(7)} | ${cpu.toFixed(1).padStart(11)} | ${Math.min(...fps).toFixed(1)} / ${(fps.reduce((a, b) => a + b, 0) / fps.length).toFixed(1)}`.padEnd(
        44,
      ) +
        ` | ${percentile(latencies, 50).toFixed(0)} / ${percentile(latencies, 95).toFixed(0)} / ${latencies.at(-1)?.toFixed(0)} | ${(viewers[0]!.frameBytes / 1024).toFixed(1)}`,
    );
    for (const viewer of viewers) viewer.socket.close();
  }
} finally {
  await camera.stop();
  await relay.stop();
  await broker.stop();
}
