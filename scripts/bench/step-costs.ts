/**
 * The per-frame steps of a camera's frame in the publisher, each timed alone on this machine (the
 * median of 30), before and after issue 15: what moving the encode into the capture helper saves,
 * and what a slower machine (a Raspberry Pi 4) would pay, scaled from these. Steps:
 * - decode: the camera's JPEG (quality 80) to BGR, as FFmpeg's MJPEG decoder does in the helper's read;
 * - IPC: the frame crossing from helper to publisher (Node's advanced serialization over the IPC
 *   pipe, one message there and a small reply back, as the helper and publisher talk): raw BGR
 *   before, the JPEG to publish after;
 * - resize 1080p -> 720p, and the JPEG encode at quality 60 of the published size.
 *
 * Run: node --import tsx scripts/bench/step-costs.ts   (writes bench/results/step-costs-<time>.md)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { nowMs } from './clock.js';
import { cv, type Mat } from './opencv.js';
import { resultsDir, timestampForFile } from './output.js';
import { median } from './stats.js';

const REPEATS = 30;
const SIZES = [
  [640, 480],
  [1280, 720],
  [1920, 1080],
] as const;

/** A scene like the bench camera's: gradients, lines and text (JPEG costs depend on detail). */
function scene(width: number, height: number): Mat {
  const mat = new cv.Mat(height, width, cv.CV_8UC3, [90, 120, 150]);
  const step = Math.max(8, Math.round(width / 48));
  for (let x = 0; x < width; x += step) {
    const level = Math.round((255 * x) / width);
    mat.drawRectangle(
      new cv.Point2(x, 0),
      new cv.Point2(x + step - 1, height - 1),
      new cv.Vec3(level, 255 - level, (level * 3) % 256),
      cv.FILLED,
    );
  }
  const scale = width / 640;
  for (let row = 1; row < 8; row += 1)
    mat.putText(
      `camqtt step costs ${width}x${height} row ${row}`,
      new cv.Point2(20, Math.round((height * row) / 8)),
      cv.FONT_HERSHEY_SIMPLEX,
      scale,
      new cv.Vec3(255, 255, 255),
      2,
    );
  return mat;
}

async function timed(work: () => unknown): Promise<number> {
  const times: number[] = [];
  await work();
  for (let i = 0; i < REPEATS; i += 1) {
    const started = nowMs();
    await work();
    times.push(nowMs() - started);
  }
  return median(times) ?? Number.NaN;
}

/** A child that answers each message with a small one, as the helper/publisher pair does. */
const ECHO = `process.on('message', (m) => process.send({ type: 'ok', bytes: m.data.length }));`;

async function main(): Promise<void> {
  const child = spawn(process.execPath, ['-e', ECHO], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  const send = async (data: Uint8Array): Promise<void> => {
    const reply = once(child, 'message');
    child.send({ type: 'frame', data });
    await reply;
  };
  const rows: string[][] = [];
  for (const [width, height] of SIZES) {
    const image = scene(width, height);
    const camera = cv.imencode('.jpg', image, [cv.IMWRITE_JPEG_QUALITY, 80]);
    const published = cv.imencode('.jpg', image, [cv.IMWRITE_JPEG_QUALITY, 60]);
    const bgr = image.getData();
    rows.push([
      `${width}x${height}`,
      (await timed(() => cv.imdecode(camera).release())).toFixed(2),
      `${(bgr.length / 1e6).toFixed(2)} MB: ${(await timed(() => send(bgr))).toFixed(2)}`,
      `${(published.length / 1e3).toFixed(0)} kB: ${(await timed(() => send(published))).toFixed(2)}`,
      (await timed(() => cv.imencode('.jpg', image, [cv.IMWRITE_JPEG_QUALITY, 60]))).toFixed(2),
      width === 1920 ? (await timed(() => image.resize(720, 1280).release())).toFixed(2) : '-',
    ]);
  }
  child.kill();
  const header = [
    'size',
    'decode camera JPEG (q80) ms',
    'IPC raw BGR (before) ms',
    'IPC JPEG q60 (after) ms',
    'encode q60 ms',
    'resize to 1280x720 ms',
  ];
  const table = [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  const startedAt = new Date().toISOString();
  const text = `# Per-frame step costs, ${startedAt}\n\nMedian of ${REPEATS}, one step at a time, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (2-core machine shared with other work). See scripts/bench/step-costs.ts.\n\n${table}\n`;
  const path = join(resultsDir, `step-costs-${timestampForFile(startedAt)}.md`);
  await writeFile(path, text);
  process.stdout.write(`${text}\nWritten: ${path}\n`);
}

await main();
