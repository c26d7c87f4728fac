/**
 * Issue 17: a phone or laptop as a camera. Chromium's fake camera publishes from one page through
 * the relay's /ws/camera; a second page, a raw viewer socket and an MQTT subscriber receive its
 * frames; a control command changes its fps; closing the tab marks it offline; an account without
 * VIEWER_CAMERA_USERS is refused. Real parts throughout: the relay as its own process, a real
 * broker, the users file written by scripts/mqtt-user.ts, Debian's Chromium.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { checkJpeg, parseCameraStatus, readFrameMeta, readJpegInfo, Topics, type CameraStatus, type FrameMeta } from '@camqtt/wire';
import { FAKE_CAMERA_ARGS, launchBrowser, repoRoot, TestBroker, waitFor, type ServiceProcess } from '@camqtt/test-support';
import { connectPublisher, PREFIX, startRelay, TestViewer, upgradeStatus } from './support.js';

const PASSWORDS = { alice: 'alice: correct horse', bob: 'bob: battery staple' } as const;
const CAMERA = 'browser-alice';
const topics = new Topics(PREFIX);

let dir: string;
let broker: TestBroker;
let relay: ServiceProcess;
let baseUrl: string;
let subscriber: MqttClient;
let browser: Browser;
const frames: { meta: FrameMeta; bytes: number; at: number }[] = [];
const statuses: CameraStatus[] = [];

async function mqttUser(usersFile: string, user: keyof typeof PASSWORDS): Promise<void> {
  const passwordFile = join(dir, `${user}.password`);
  await writeFile(passwordFile, PASSWORDS[user], { mode: 0o600 });
  await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'scripts/mqtt-user.ts', 'add', usersFile, user, '--password-file', passwordFile],
    {
      cwd: repoRoot,
    },
  );
}

/** Logs in with the form, as a person would, and returns the session cookie's name and value. */
async function sessionCookie(user: keyof typeof PASSWORDS): Promise<{ name: string; value: string }> {
  const answer = await fetch(`${baseUrl}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: user, password: PASSWORDS[user], next: '/' }).toString(),
  });
  await answer.body?.cancel();
  const [name = '', value = ''] = (answer.headers.get('set-cookie') ?? '').split(';')[0]!.split('=');
  assert.ok(name && value, `${user} logged in`);
  return { name, value };
}

async function pageAs(user: keyof typeof PASSWORDS): Promise<{ context: BrowserContext; page: Page; errors: Error[] }> {
  const context = await browser.newContext();
  await context.addCookies([{ ...(await sessionCookie(user)), url: baseUrl }]);
  const page = await context.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(baseUrl);
  return { context, page, errors };
}

/** The HTTP status the browser camera socket's upgrade gets with `cookie` (101: accepted). */
async function cameraUpgradeStatus(cookie: { name: string; value: string }): Promise<number> {
  return await upgradeStatus(baseUrl, { Cookie: `${cookie.name}=${cookie.value}` }, '/ws/camera');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Median ms between the capture times of the frames published after `since` (the subscriber's clock). */
async function frameIntervalSince(since: number, count: number): Promise<number> {
  const recent = await waitFor(
    `${count} frames`,
    () => {
      const got = frames.filter((frame) => frame.at > since);
      return got.length >= count ? got : undefined;
    },
    30_000,
  );
  return median(recent.slice(1).map((frame, index) => frame.meta.captureTime - recent[index]!.meta.captureTime));
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'camqtt-browser-camera-'));
  const usersFile = join(dir, 'viewers');
  await mqttUser(usersFile, 'alice');
  await mqttUser(usersFile, 'bob');
  broker = await TestBroker.start();
  ({ relay, baseUrl } = await startRelay(broker.url, 0, {
    env: {
      VIEWER_USERS_FILE: usersFile,
      VIEWER_CAMERA_USERS: 'alice',
      // A browser camera starts where a publisher does.
      VIDEO_WIDTH: '320',
      VIDEO_HEIGHT: '240',
      CAMQTT_TEST_ANSWER_TIMEOUT_MS: '300',
    },
  }));
  subscriber = await connectPublisher(broker.url);
  subscriber.on('message', (topic, payload) => {
    const parsed = topics.parse(topic);
    if (parsed?.kind === 'frame') {
      assert.deepEqual(checkJpeg(payload), { ok: true }, 'every published frame is a complete JPEG');
      const meta = readFrameMeta(payload);
      assert.ok(meta, 'every published frame carries the metadata');
      frames.push({ meta, bytes: payload.length, at: Date.now() });
    }
    if (parsed?.kind === 'status') {
      const status = parseCameraStatus(payload);
      if ('status' in status) statuses.push(status.status);
    }
  });
  await subscriber.subscribeAsync([topics.frame(CAMERA), topics.status(CAMERA)], { qos: 1 });
  browser = await launchBrowser(FAKE_CAMERA_ARGS);
});

after(async () => {
  await browser?.close();
  await subscriber?.endAsync();
  await relay?.stop();
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
});

let publisherPage: Page;

test('a page publishes its camera: a second page, a viewer socket and an MQTT subscriber get its JPEGs, stamped as browser-alice', async () => {
  const { page, errors } = await pageAs('alice');
  publisherPage = page;
  await page.locator('#browser-camera-start').click();
  // The page shows what it sends.
  await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('#browser-camera-stats')?.dataset.fps) > 0, undefined, {
    timeout: 20_000,
  });
  assert.match(
    (await page.locator('#browser-camera-stats').textContent()) ?? '',
    /browser-alice \d+ fps · \d+ kB\/s · encode [\d.]+ ms \(worker\)/,
  );

  const published = await waitFor('5 frames over MQTT', () => (frames.length >= 5 ? frames.slice(0, 5) : undefined), 20_000);
  for (const [index, frame] of published.entries()) {
    assert.equal(frame.meta.camera, CAMERA);
    if (index > 0) assert.ok(frame.meta.seq > published[index - 1]!.meta.seq, 'seq goes up');
    // Capture time is on the relay's clock (here the same machine's): within a few seconds of now.
    assert.ok(Math.abs(frame.at - frame.meta.captureTime) < 5_000, `capture time ${frame.meta.captureTime} vs received ${frame.at}`);
  }
  const online = await waitFor('an online status', () => statuses.find((status) => status.online && status.source === 'browser'));
  assert.equal(online.camera, CAMERA);
  assert.equal(online.width, 320, 'it starts at VIDEO_WIDTH x VIDEO_HEIGHT');

  const viewer = await TestViewer.connect(baseUrl, {
    Cookie: `${(await sessionCookie('bob')).name}=${(await sessionCookie('bob')).value}`,
  });
  const frame = await waitFor('a frame on the viewer socket', () => viewer.frames.find((candidate) => candidate.camera === CAMERA));
  assert.deepEqual(checkJpeg(frame.payload), { ok: true });
  assert.equal(readFrameMeta(frame.payload)?.camera, CAMERA);
  assert.equal(readJpegInfo(frame.payload)?.width, 320, 'the page encodes at that size');
  await viewer.close();

  const second = await pageAs('bob');
  await second.page.locator(`[data-camera="${CAMERA}"] [data-role="badge"][data-state="live"]`).waitFor({ timeout: 20_000 });
  assert.equal(await second.page.locator('#browser-camera').isHidden(), true, 'bob is not offered the button');
  await second.context.close();
  assert.deepEqual(errors, []);
});

test('an account without VIEWER_CAMERA_USERS is refused the camera socket', async () => {
  assert.equal(await cameraUpgradeStatus(await sessionCookie('bob')), 403);
  const hello = await (
    await TestViewer.connect(baseUrl, { Cookie: `camqtt_session=${(await sessionCookie('bob')).value}` })
  ).event('hello');
  assert.equal(hello.browserCamera, undefined);
});

test('a control command changes the browser camera fps', async () => {
  const cookie = await sessionCookie('alice');
  const answer = await fetch(`${baseUrl}/api/cameras/${CAMERA}/control`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Cookie: `${cookie.name}=${cookie.value}`, Origin: baseUrl },
    body: JSON.stringify({ fps: 2 }),
  });
  assert.ok(answer.status < 300, `control answered ${answer.status}`);
  await answer.body?.cancel();
  await waitFor('the status to say 2 fps asked', () => statuses.find((status) => status.targetFps === 2 && status.lastCommand?.ok));
  const since = Date.now();
  const interval = await frameIntervalSince(since, 5);
  // 2 fps against the 30 it started at: far apart, whatever the machine's load.
  assert.ok(interval > 250 && interval < 2000, `frames ${interval} ms apart at 2 fps`);
});

test('closing the tab marks the camera offline', async () => {
  const closedAt = Date.now();
  await publisherPage.context().close();
  const offline = await waitFor('an offline status', () =>
    statuses.find((status) => !status.online && (status.updatedAt ?? 0) >= closedAt - 1000),
  );
  assert.equal(offline.camera, CAMERA);
});

test('the relay stopping marks a live browser camera offline (no last will can, for a browser)', async () => {
  const { page } = await pageAs('alice');
  const startedAt = Date.now();
  await page.locator('#browser-camera-start').click();
  await waitFor('an online status again', () => statuses.find((status) => status.online && (status.updatedAt ?? 0) >= startedAt - 1000));
  const stoppedAt = Date.now();
  assert.equal(await relay.stop(), 0, 'the relay exits cleanly');
  const offline = await waitFor('an offline status', () =>
    statuses.find((status) => !status.online && (status.updatedAt ?? 0) >= stoppedAt - 1000),
  );
  assert.equal(offline.camera, CAMERA);
  await page.context().close();
});
