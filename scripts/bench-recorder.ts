/**
 * The recorder's cost (`npm run bench:recorder`): for each RECORD_FORMAT, the bundled broker, one
 * testsrc publisher at 640x480@30 and the recorder, and over a measured window the CPU of the
 * recorder with its FFmpeg (cores), the frames it recorded per second, and the disk it filled
 * (MB per hour). Prints a Markdown table; run it on a quiet machine for figures worth quoting.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, startBroker, stopAllProcesses, waitFor } from '@camqtt/test-support';
import { treeCpuSeconds } from './bench/proc-stats.js';

const WARMUP_MS = 8000;
const WINDOW_MS = Number(process.env.BENCH_WINDOW_S ?? 60) * 1000;

/** Bytes of every segment file under `dir`. */
function recordedBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.mp4')) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

async function framesRecorded(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(/^camqtt_recorder_frames_recorded_total\{[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

async function measure(format: 'h264' | 'jpeg'): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'camqtt-bench-recorder-'));
  try {
    const provisionDir = join(dir, 'provision');
    const recordDir = join(dir, 'recordings');
    const broker = startBroker(provisionDir, 'cam1:camera,recorder:recorder');
    const mqtts = await broker.port('mqtts');
    const clientEnv = (user: string): Record<string, string> => ({
      MQTT_URL: `mqtts://localhost:${mqtts}`,
      MQTT_CA_FILE: join(provisionDir, 'tls', 'ca.crt'),
      MQTT_USERNAME: user,
      MQTT_PASSWORD_FILE: join(provisionDir, 'passwords', user),
      LOG_LEVEL: 'warn',
    });
    const recorder = ServiceProcess.start('recorder', {
      ...clientEnv('recorder'),
      LOG_LEVEL: 'info',
      RECORD_DIR: recordDir,
      RECORD_FORMAT: format,
      // One segment over the whole run: its one FFmpeg is measured with the recorder.
      RECORD_SEGMENT_S: '3600',
      RECORD_METRICS_PORT: '0',
    });
    const port = await recorder.port('http');
    ServiceProcess.start('publisher', {
      ...clientEnv('cam1'),
      CAMERA_ID: 'cam1',
      CAMERA_SOURCE: 'testsrc',
      VIDEO_WIDTH: '640',
      VIDEO_HEIGHT: '480',
      VIDEO_FPS: '30',
      HA_DISCOVERY: 'false',
    });
    await waitFor('recording', async () => (await framesRecorded(port)) > 0, 30_000);
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    const start = {
      cpu: treeCpuSeconds(recorder.pid) ?? 0,
      frames: await framesRecorded(port),
      bytes: recordedBytes(recordDir),
      at: Date.now(),
    };
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    const end = {
      cpu: treeCpuSeconds(recorder.pid) ?? 0,
      frames: await framesRecorded(port),
      bytes: recordedBytes(recordDir),
      at: Date.now(),
    };
    const seconds = (end.at - start.at) / 1000;
    const cores = (end.cpu - start.cpu) / seconds;
    const fps = (end.frames - start.frames) / seconds;
    const mbPerHour = (((end.bytes - start.bytes) / seconds) * 3600) / 1e6;
    return `| ${format} | ${fps.toFixed(1)} | ${cores.toFixed(3)} | ${((cores * 30) / fps).toFixed(3)} | ${mbPerHour.toFixed(0)} |`;
  } finally {
    await stopAllProcesses();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`recorder, one testsrc camera at 640x480@30 (JPEG quality 60), ${WINDOW_MS / 1000} s per format`);
console.log('| RECORD_FORMAT | frames recorded per s | recorder + FFmpeg, cores | cores per 30 fps camera | MB per hour |');
console.log('| --- | --- | --- | --- | --- |');
for (const format of ['h264', 'jpeg'] as const) console.log(await measure(format));
