/**
 * `npm run bench:browser-camera`: the browser camera's row of the bench. The whole stack as
 * processes on loopback, wired as docker compose wires it (bundled broker with provisioned
 * accounts and ACL, MQTT over TLS, the relay with its own account), Chromium's fake camera
 * publishing at 640x480 from the page, and a WebSocket viewer in this process timing each frame
 * from its capture time (stamped by the page on the relay's clock) to its arrival. Per asked fps:
 * fps seen by the viewer, frames lost (seq gaps), capture -> viewer latency and the page's own
 * encode time per frame. Asserts nothing; prints a markdown table.
 *
 * A separate script rather than a case of `npm run bench`: its cases drive publishers and
 * fleets of viewers; this one needs a browser, one page and one viewer.
 */
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { decodeViewerFrame, readFrameMeta } from '@camqtt/wire';
import { formatPasswordHash, hashPassword } from '@camqtt/service-kit';
import { FAKE_CAMERA_ARGS, launchBrowser, startStack, waitFor } from '@camqtt/test-support';

const CAMERA = 'browser-bench';
const PASSWORD = 'bench: browser camera';
const WARMUP_S = 4;
const MEASURE_S = Number(process.env.BENCH_BROWSER_CAMERA_SECONDS ?? 15);
const FPS_STEPS = [10, 30];

interface Row {
  askedFps: number;
  viewerFps: number;
  lost: number;
  latencyP50: number;
  latencyP99: number;
  encodeMsP50: number;
  kilobytesPerSecond: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function measure(page: Page, baseUrl: string, cookie: string, askedFps: number): Promise<Row> {
  const control = await fetch(`${baseUrl}/api/cameras/${CAMERA}/control`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Cookie: cookie, Origin: baseUrl },
    body: JSON.stringify({ fps: askedFps }),
  });
  await control.body?.cancel();
  await new Promise((resolve) => setTimeout(resolve, WARMUP_S * 1000));
  const viewer = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`, { headers: { Cookie: cookie } });
  const seen: { seq: number; latency: number; bytes: number }[] = [];
  viewer.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return;
    const arrived = Date.now();
    const frame = decodeViewerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    const meta = frame?.camera === CAMERA ? readFrameMeta(frame.payload) : undefined;
    if (meta) seen.push({ seq: meta.seq, latency: arrived - meta.captureTime, bytes: frame?.payload.length ?? 0 });
  });
  await once(viewer, 'open');
  const encodeMs: number[] = [];
  const started = Date.now();
  while (Date.now() - started < MEASURE_S * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const value = Number(await page.locator('#browser-camera-stats').getAttribute('data-encode-ms'));
    if (value > 0) encodeMs.push(value);
  }
  viewer.close();
  // The first frame is the relay's newest on connect; gaps are counted from there.
  const seqs = seen.map((frame) => frame.seq);
  const lost = seqs.length > 1 ? seqs[seqs.length - 1]! - seqs[0]! + 1 - seqs.length : 0;
  const latencies = seen.slice(1).map((frame) => frame.latency);
  return {
    askedFps,
    viewerFps: seen.length / MEASURE_S,
    lost,
    latencyP50: percentile(latencies, 50),
    latencyP99: percentile(latencies, 99),
    encodeMsP50: percentile(encodeMs, 50),
    kilobytesPerSecond: seen.reduce((sum, frame) => sum + frame.bytes, 0) / 1024 / MEASURE_S,
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'camqtt-bench-browser-'));
  const usersFile = join(dir, 'viewers');
  await writeFile(usersFile, `bench:${formatPasswordHash(await hashPassword(PASSWORD))}\n`, { mode: 0o600 });
  const stack = await startStack([], {
    brokerEnv: { VIEWER_CAMERA_USERS: 'bench' },
    webEnv: { VIEWER_USERS_FILE: usersFile, VIEWER_CAMERA_USERS: 'bench' },
  });
  const browser = await launchBrowser(FAKE_CAMERA_ARGS);
  try {
    const baseUrl = `http://127.0.0.1:${stack.ports.web}`;
    await waitFor('the relay connected', async () => (await fetch(`${baseUrl}/healthz`)).status === 200, 30_000);
    const login = await fetch(`${baseUrl}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'bench', password: PASSWORD, next: '/' }).toString(),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const [name = '', value = ''] = cookie.split('=');
    const context = await browser.newContext();
    await context.addCookies([{ name, value, url: baseUrl }]);
    const page = await context.newPage();
    await page.goto(baseUrl);
    await page.locator('#browser-camera-start').click();
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('#browser-camera-stats')?.dataset.fps) > 0);
    const rows: Row[] = [];
    for (const fps of FPS_STEPS) rows.push(await measure(page, baseUrl, cookie, fps));
    const f = (value: number): string => (Number.isFinite(value) ? value.toFixed(1) : '-');
    process.stdout.write(
      [
        `Browser camera, 640x480 quality 60, Chromium fake camera -> relay /ws/camera -> bundled broker (TLS, ACL) -> relay -> WebSocket viewer; ${MEASURE_S} s per row`,
        '',
        '| asked fps | viewer fps | lost | capture -> viewer p50 (ms) | p99 (ms) | page encode per frame p50 (ms) | kB/s |',
        '| --- | --- | --- | --- | --- | --- | --- |',
        ...rows.map(
          (row) =>
            `| ${row.askedFps} | ${f(row.viewerFps)} | ${row.lost} | ${f(row.latencyP50)} | ${f(row.latencyP99)} | ${f(row.encodeMsP50)} | ${f(row.kilobytesPerSecond)} |`,
        ),
        '',
      ].join('\n'),
    );
  } finally {
    await browser.close();
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
