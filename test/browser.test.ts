/**
 * What a person sees: the stack on loopback, the viewer page in Debian's Chromium, a live test
 * pattern whose picture changes, with FPS and latency on it.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { repoRoot } from '../scripts/lib/service-process.js';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, watchCamera } from './support/viewer-page.js';

let stack: Stack;
let browser: Browser;

before(async () => {
  stack = await startStack([{ id: 'cam1', source: 'testsrc', env: { VIDEO_WIDTH: '640', VIDEO_HEIGHT: '480', VIDEO_FPS: '30', JPEG_QUALITY: '60' } }]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('the page shows the live test pattern with FPS and latency', async (t) => {
  const { first, second, reading, page } = await watchCamera(browser, `http://127.0.0.1:${stack.ports.web}/`, 'cam1');
  assert.notEqual(first, second, 'the picture changes over time');
  assert.ok(reading.fps > 0, `FPS shows a positive number (${reading.fps})`);
  assert.ok(Number.isFinite(reading.latencyMs), `latency shows a number (${reading.latencyText})`);
  // Figures for the record, not assertions: the machine is shared and timings vary.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const later = await page.locator('[data-camera="cam1"]').innerText();
  t.diagnostic(`tile after 3 s: ${later.replace(/\s+/g, ' ')}`);
  await mkdir(`${repoRoot}test-output`, { recursive: true });
  await page.screenshot({ path: `${repoRoot}test-output/viewer.png` });
});
