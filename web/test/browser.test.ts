/**
 * What a person sees: Debian's Chromium opens the page from the built relay while a camera
 * publishes ~12 fps over a real broker; then the relay restarts and the page recovers by itself.
 * With viewer accounts: logging in through the form, and being sent back to it when the account
 * is removed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Topics, withFrameMeta } from '@camqtt/wire';
import { repoRoot, type ServiceProcess, TestBroker } from '@camqtt/test-support';
import { connectPublisher, makeJpegs, PREFIX, startRelay } from './support.js';

const topics = new Topics(PREFIX);
const TILE = '[data-camera="cam1"]';
let broker: TestBroker;
let relay: ServiceProcess | undefined;
let port: number;
let baseUrl: string;
let publisher: MqttClient;
let browser: Browser | undefined;
let camera: NodeJS.Timeout | undefined;

before(async () => {
  const jpegs = await makeJpegs(20);
  broker = await TestBroker.start();
  ({ relay, port, baseUrl } = await startRelay(broker.url));
  publisher = await connectPublisher(broker.url);
  await publisher.publishAsync(topics.status('cam1'), JSON.stringify({ camera: 'cam1', online: true, targetFps: 12 }), {
    qos: 1,
    retain: true,
  });
  // The camera: the ffmpeg test pattern moves, so consecutive frames differ.
  let seq = 0;
  camera = setInterval(() => {
    seq += 1;
    const frame = withFrameMeta(jpegs[seq % jpegs.length]!, { camera: 'cam1', seq, captureTime: Date.now() });
    void publisher.publishAsync(topics.frame('cam1'), Buffer.from(frame)).catch(() => {});
  }, 80);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
});

after(async () => {
  clearInterval(camera);
  await browser?.close();
  await publisher?.endAsync();
  await relay?.stop();
  await broker?.stop();
});

/**
 * Records every Content Security Policy violation on the page (a blocked script, style, socket or
 * image), and the console's CSP complaints, so a test can assert the page lives within its policy.
 */
async function watchCsp(page: Page): Promise<string[]> {
  const violations: string[] = [];
  await page.exposeFunction('reportCspViolation', (text: string) => violations.push(text));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      (window as unknown as { reportCspViolation: (text: string) => void }).reportCspViolation(
        `${event.violatedDirective} blocked ${event.blockedURI}`,
      );
    });
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}

async function canvasImage(page: Page): Promise<string> {
  return await page.locator(`${TILE} canvas`).evaluate((canvas) => (canvas as HTMLCanvasElement).toDataURL());
}

async function stat(page: Page, name: string): Promise<string> {
  return (await page.locator(`${TILE} [data-stat="${name}"]`).textContent()) ?? '';
}

/** The tile shows moving video: the picture changes, FPS is above 0 and latency is a number. */
async function expectLiveVideo(page: Page): Promise<void> {
  await page.locator(`${TILE} [data-role="badge"][data-state="live"]`).waitFor();
  const first = await canvasImage(page);
  await page.waitForFunction(
    ([selector, before]) => (document.querySelector(`${selector} canvas`) as HTMLCanvasElement).toDataURL() !== before,
    [TILE, first] as const,
  );
  assert.notEqual(await canvasImage(page), first);
  await page.waitForFunction(
    (selector) => parseFloat(document.querySelector(`${selector} [data-stat="fps"]`)?.textContent ?? '0') > 0,
    TILE,
  );
  assert.ok(Number.parseFloat(await stat(page, 'fps')) > 0);
  assert.match(await stat(page, 'latency'), /^-?\d+ ms$/);
  assert.match(await stat(page, 'kbps'), /^\d+(\.\d+)? kB\/s$/);
}

test('the page shows cam1 live, and recovers by itself when the relay restarts', async () => {
  const page = await browser!.newPage({ viewport: { width: 390, height: 844 } });
  const pageErrors: Error[] = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  const cspViolations = await watchCsp(page);
  const response = await page.goto(baseUrl);
  const headers = response!.headers();
  assert.match(headers['content-security-policy'] ?? '', /default-src 'self'/);
  assert.match(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/);
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'same-origin');

  await page.locator(TILE).waitFor();
  assert.equal(await page.locator(`${TILE} [data-role="camera-id"]`).textContent(), 'cam1');
  await page.locator('#connection-banner').waitFor({ state: 'hidden' });
  await expectLiveVideo(page);

  // The relay goes away: the page says so and keeps its tile.
  await relay!.stop();
  relay = undefined;
  await page.locator('#connection-banner[data-state="reconnecting"]').waitFor({ state: 'visible' });
  assert.match((await page.locator('#connection-banner').textContent()) ?? '', /reconnecting/i);
  await page.locator(`${TILE} [data-role="badge"][data-state="stalled"]`).waitFor();

  // Back on the same port: the page reconnects without a reload and video flows again.
  ({ relay } = await startRelay(broker.url, port));
  await page.locator('#connection-banner').waitFor({ state: 'hidden', timeout: 15_000 });
  await expectLiveVideo(page);
  assert.deepEqual(pageErrors, []);
  // Everything the page does (module script, styles, WebSocket, decoding frames) fits the policy.
  assert.deepEqual(cspViolations, []);
  await page.close();
});

test('with a users file: the form logs a user in, and removing the user sends the page back to it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'camqtt-browser-users-'));
  const usersFile = join(dir, 'viewers');
  const passwordFile = join(dir, 'password');
  const mqttUser = async (...args: string[]): Promise<void> => {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/mqtt-user.ts', ...args], { cwd: repoRoot });
  };
  await writeFile(passwordFile, 'carol: s3cret', { mode: 0o600 });
  await mqttUser('add', usersFile, 'carol', '--password-file', passwordFile);
  const { relay: usersRelay, baseUrl: usersUrl } = await startRelay(broker.url, 0, { env: { VIEWER_USERS_FILE: usersFile } });
  const page = await browser!.newPage({ viewport: { width: 390, height: 844 } });
  const cspViolations = await watchCsp(page);
  try {
    await page.goto(usersUrl);
    await page.waitForURL(/\/login\?next=/);
    await page.getByLabel('User name').fill('carol');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong user name or password.' }).waitFor();
    // The name stays filled in after a wrong password.
    assert.equal(await page.getByLabel('User name').inputValue(), 'carol');
    await page.getByLabel('Password').fill('carol: s3cret');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${usersUrl}/`);
    await page.locator(TILE).waitFor();
    await expectLiveVideo(page);
    assert.deepEqual(cspViolations, [], 'the login form and the page fit the policy');

    // "log out" (a POST) ends the session: the page is the form again, and stays it.
    await page.getByRole('button', { name: 'log out' }).click();
    await page.waitForURL(`${usersUrl}/login`);
    await page.goto(usersUrl);
    await page.waitForURL(/\/login\?next=/);
    await page.getByLabel('User name').fill('carol');
    await page.getByLabel('Password').fill('carol: s3cret');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${usersUrl}/`);
    await page.locator(TILE).waitFor();

    // The account goes: the open socket is closed, the reconnect refused, and the page shows the form.
    await mqttUser('remove', usersFile, 'carol');
    await page.waitForURL(/\/login\?next=%2F/, { timeout: 15_000 });
    await page.getByLabel('Password').waitFor();
  } finally {
    await page.close();
    await usersRelay.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
