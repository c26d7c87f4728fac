/**
 * The page in Debian's Chromium: a grid of three cameras laid out to fill the window, the single
 * view, the snapshot download, a phone-sized screen, a control change made from the page and seen
 * in the picture of a real publisher, and the login form when a password is set.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { checkJpeg, readFrameMeta, Topics } from '@camqtt/wire';
import { ServiceProcess, TestBroker } from '@camqtt/test-support';
import { launchBrowser } from '@camqtt/test-support';
import { FakeCamera, makeJpegs, PREFIX, startRelay, startRelayUnderTest, type RelayUnderTest } from './support.js';

const topics = new Topics(PREFIX);
const CAMERAS = ['cam1', 'cam2', 'cam3'];
let stack: RelayUnderTest | undefined;
let broker: TestBroker;
let baseUrl: string;
let publisher: MqttClient;
let browser: Browser;
const cameras: FakeCamera[] = [];
const started: ServiceProcess[] = [];

before(async () => {
  const jpegs = await makeJpegs(20, '640x480', 5);
  stack = await startRelayUnderTest();
  ({ broker, baseUrl, publisher } = stack);
  for (const id of CAMERAS) {
    await publisher.publishAsync(
      topics.status(id),
      JSON.stringify({ camera: id, online: true, targetFps: 10, quality: 60, width: 640, height: 480 }),
      { qos: 1, retain: true },
    );
    const camera = new FakeCamera(publisher, id, jpegs, 100);
    camera.start();
    cameras.push(camera);
  }
  browser = await launchBrowser();
});

after(async () => {
  for (const camera of cameras) camera.stop();
  await browser?.close();
  await Promise.all(started.map((process) => process.stop()));
  await stack?.stop();
});

async function openPage(url: string, viewport = { width: 1280, height: 800 }): Promise<{ page: Page; errors: Error[] }> {
  const page = await browser.newPage({ viewport, acceptDownloads: true });
  const errors: Error[] = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(url);
  return { page, errors };
}

async function box(page: Page, selector: string): Promise<{ x: number; y: number; width: number; height: number }> {
  const found = await page.locator(selector).boundingBox();
  assert.ok(found, `${selector} is on screen`);
  return found;
}

const live = (camera: string): string => `[data-camera="${camera}"] [data-role="badge"][data-state="live"]`;

test('a grid of three live cameras fills the window; the stats sit under the picture', async () => {
  const { page, errors } = await openPage(baseUrl);
  for (const camera of CAMERAS) await page.locator(live(camera)).waitFor();
  assert.equal(await page.locator('#camera-count').textContent(), '3 cameras');
  for (const camera of CAMERAS) {
    const canvas = await box(page, `[data-camera="${camera}"] canvas`);
    const bar = await box(page, `[data-camera="${camera}"] .tile-bar`);
    // Three 4:3 tiles on 1280x800 come out at about 400 px: more than the old fixed 320.
    assert.ok(canvas.width > 380, `${camera} is ${canvas.width} px wide`);
    assert.ok(bar.y >= canvas.y + canvas.height - 1, `${camera}'s stats are under the picture, not over it`);
    await page.waitForFunction(
      (id) => /^\d+ ms$/.test(document.querySelector(`[data-camera="${id}"] [data-stat="latency"]`)?.textContent ?? ''),
      camera,
    );
  }
  assert.match((await page.locator('[data-camera="cam1"] [data-stat="lost"]').textContent()) ?? '', /^\d+ lost$/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('clicking a tile opens the single view, large; it downloads a snapshot; Back returns to the grid', async () => {
  const { page, errors } = await openPage(baseUrl);
  await page.locator(live('cam2')).waitFor();
  await page.locator('[data-camera="cam2"] canvas').click();
  await page.locator('#single-bar').waitFor({ state: 'visible' });
  assert.equal(await page.locator('[data-camera="cam1"]').isVisible(), false);
  assert.ok(page.url().endsWith('#camera=cam2'));
  const canvas = await box(page, '[data-camera="cam2"] canvas');
  assert.ok(canvas.width > 850, `one camera uses the window: ${canvas.width} px wide`);
  assert.ok(await page.locator('[data-action="fullscreen"]').isVisible());
  assert.ok(await page.locator('[data-control="fps"]').isVisible(), 'controls shown: this relay lets viewers control');

  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-action="snapshot"]').click()]);
  assert.match(download.suggestedFilename(), /^cam2-.*\.jpg$/);
  const jpeg = await readFile(await download.path());
  assert.deepEqual(checkJpeg(jpeg), { ok: true });
  assert.equal(readFrameMeta(jpeg)?.camera, 'cam2');

  // Only cam2 comes in now: its counters move, cam3's do not.
  await page.locator('[data-action="back"]').click();
  for (const camera of CAMERAS) await page.locator(`[data-camera="${camera}"]`).waitFor({ state: 'visible' });
  await page.locator(live('cam3')).waitFor();
  assert.equal(await page.locator('#single-bar').isVisible(), false);
  assert.deepEqual(errors, []);
  await page.close();
});

test('on a phone-sized screen the tiles stack in one full-width column', async () => {
  const { page, errors } = await openPage(baseUrl, { width: 390, height: 844 });
  for (const camera of CAMERAS) await page.locator(live(camera)).waitFor();
  const boxes = await Promise.all(CAMERAS.map((camera) => box(page, `[data-camera="${camera}"]`)));
  for (const tile of boxes) assert.ok(tile.width > 340 && tile.x + tile.width <= 390, `tile ${JSON.stringify(tile)} fits the phone`);
  assert.ok(boxes[1]!.y > boxes[0]!.y && boxes[2]!.y > boxes[1]!.y, 'one column');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a resolution change made on the page reaches a real publisher and shows as a new canvas size', async () => {
  const publisherProcess = ServiceProcess.start('publisher', {
    MQTT_URL: broker.url,
    TOPIC_PREFIX: PREFIX,
    CAMERA_ID: 'live1',
    CAMERA_SOURCE: 'testsrc',
    VIDEO_WIDTH: '320',
    VIDEO_HEIGHT: '240',
    VIDEO_FPS: '10',
    STATUS_INTERVAL_S: '1',
  });
  started.push(publisherProcess);
  const { page, errors } = await openPage(`${baseUrl}/#camera=live1`);
  await page.locator(live('live1')).waitFor({ timeout: 30_000 });
  await page.locator('#single-bar').waitFor({ state: 'visible' });
  await page.waitForFunction(() => (document.querySelector('[data-camera="live1"] canvas') as HTMLCanvasElement).width === 320);
  await page.locator('[data-control="resolution"]').selectOption('160x120');
  // The camera's own answer to this command (MQTT 5: response topic and correlation data).
  await page.locator('[data-role="control-result"]', { hasText: 'camera: done {"width":160,"height":120}' }).waitFor();
  await page.waitForFunction(() => {
    const canvas = document.querySelector('[data-camera="live1"] canvas') as HTMLCanvasElement;
    return canvas.width === 160 && canvas.height === 120;
  });
  assert.deepEqual(errors, []);
  await page.close();
});

test('with a password the page asks for it, then shows the cameras', async () => {
  const secured = await startRelay(broker.url, 0, { env: { VIEWER_PASSWORD: 'let me watch' } });
  started.push(secured.relay);
  const { page, errors } = await openPage(secured.baseUrl);
  await page.locator('input[type="password"]').waitFor();
  await page.locator('input[type="password"]').fill('not it');
  await page.locator('button[type="submit"]').click();
  await page.locator('[role="alert"]', { hasText: 'Wrong password' }).waitFor();
  await page.locator('input[type="password"]').fill('let me watch');
  await page.locator('button[type="submit"]').click();
  for (const camera of CAMERAS) await page.locator(live(camera)).waitFor();
  assert.equal(new URL(page.url()).pathname, '/');
  assert.deepEqual(errors, []);
  await page.close();
});
