/**
 * The real compose stack in a Docker engine, started the way a user without a camera starts it
 * (CAMERA_SOURCE=testsrc, CAMERA_DEVICE=/dev/null), checked in a browser, then taken down.
 * Needs a running Docker engine (CI starts one with ../shared/docker/engine.sh up).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { repoRoot } from '../../scripts/lib/service-process.js';
import { launchBrowser, readTile, watchCamera } from '../support/viewer-page.js';

const run = promisify(execFile);
const project = `camqtt-test-${process.pid}`;
const compose: string[] = spawnSync('docker', ['compose', 'version']).status === 0 ? ['docker', 'compose'] : ['docker-compose'];
let env: NodeJS.ProcessEnv;
let browser: Browser | undefined;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function composeRun(args: string[], timeoutMs = 20 * 60_000): Promise<string> {
  const [command, ...base] = compose;
  const { stdout } = await run(command!, [...base, '-p', project, ...args], { cwd: repoRoot, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

async function waitForHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`${url} not healthy after ${timeoutMs} ms (${last})`);
}

before(async () => {
  assert.equal(spawnSync('docker', ['info'], { stdio: 'ignore' }).status, 0, 'a Docker engine must be running (../shared/docker/engine.sh up)');
  env = {
    ...process.env,
    CAMERA_SOURCE: 'testsrc',
    CAMERA_DEVICE: '/dev/null',
    WEB_PORT: String(await freePort()),
    BROKER_MQTT_PORT: String(await freePort()),
    BROKER_MQTTS_PORT: String(await freePort()),
  };
  await composeRun(['build', '--parallel']);
  await composeRun(['up', '-d']);
});

after(async () => {
  await browser?.close();
  if (env) {
    const logs = await composeRun(['logs', '--no-color', '--tail', '30']).catch((error: unknown) => String(error));
    process.stdout.write(`# compose logs (tail)\n${logs.replace(/^/gm, '# ')}\n`);
    await composeRun(['down', '-v', '--remove-orphans']);
  }
});

test('docker compose up serves the live test pattern with FPS and latency', async (t) => {
  const url = `http://127.0.0.1:${env.WEB_PORT}`;
  await waitForHealthy(`${url}/healthz`, 120_000);
  browser = await launchBrowser();
  const { first, second, reading, page } = await watchCamera(browser, `${url}/`, 'cam1', 60_000);
  assert.notEqual(first, second, 'the picture changes over time');
  assert.ok(reading.fps > 0, `FPS shows a positive number (${reading.fps})`);
  assert.ok(Number.isFinite(reading.latencyMs), `latency shows a number (${reading.latencyText})`);
  // Figures for the record, read once the rate window holds a few seconds of steady stream.
  await new Promise((resolve) => setTimeout(resolve, 4000));
  const steady = await readTile(page, 'cam1');
  t.diagnostic(`compose page after 4 s: ${steady.fps} fps, latency ${steady.latencyText}`);
  for (const image of ['camqtt-broker', 'camqtt-publisher', 'camqtt-web']) {
    const { stdout } = await run('docker', ['image', 'inspect', `${image}:latest`, '--format', '{{.Size}}']);
    t.diagnostic(`${image} image: ${(Number(stdout.trim()) / 1e6).toFixed(0)} MB`);
  }
});
