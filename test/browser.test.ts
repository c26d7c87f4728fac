/**
 * What a person sees: the stack on loopback, the viewer page in Debian's Chromium, a live test
 * pattern whose picture changes, with FPS and latency on it.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { repoRoot, ServiceProcess, startStack, type Stack, launchBrowser, watchCamera } from '@camqtt/test-support';

let stack: Stack;
let browser: Browser;

before(async () => {
  stack = await startStack(
    [{ id: 'cam1', source: 'testsrc', env: { VIDEO_WIDTH: '640', VIDEO_HEIGHT: '480', VIDEO_FPS: '30', JPEG_QUALITY: '60' } }],
    { extraAccounts: ['cam2:camera'] },
  );
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

/** A relay of its own against the stack's broker, with `env` over the usual relay settings. */
async function relayWith(env: Record<string, string>): Promise<{ url: string; stop: () => Promise<unknown> }> {
  const relay = ServiceProcess.start('web', {
    MQTT_URL: `mqtts://localhost:${stack.ports.mqtts}`,
    MQTT_CA_FILE: stack.caFile,
    MQTT_USERNAME: 'relay',
    MQTT_PASSWORD: await stack.password('relay'),
    WEB_HOST: '127.0.0.1',
    WEB_PORT: '0',
    ...env,
  });
  return { url: `http://127.0.0.1:${await relay.port('http')}/`, stop: () => relay.stop() };
}

test('loading the page asks for nothing that is not there (no 404, e.g. for a favicon) and offers no log-out without a login', async (t) => {
  const page = await browser.newPage();
  t.after(() => page.close());
  const failed: string[] = [];
  page.on('response', (response) => {
    if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
  });
  await page.goto(`http://127.0.0.1:${stack.ports.web}/`);
  await page.locator('[data-camera="cam1"] canvas[data-sized]').waitFor();
  assert.deepEqual(failed, []);
  assert.equal(await page.locator('#logout').isVisible(), false);
  assert.equal(await page.evaluate(async () => (await fetch('favicon.svg')).headers.get('content-type')), 'image/svg+xml');
});

for (const [what, env, expected] of [
  // Debian's public CAs: a real CA bundle, but not the one that signed the bundled broker's certificate.
  [
    "a CA file that does not sign the broker's certificate",
    { MQTT_CA_FILE: '/etc/ssl/certs/ca-certificates.crt' },
    /certificate is not trusted .*check MQTT_CA_FILE/,
  ],
  [
    'a wrong password',
    { MQTT_PASSWORD: 'not-the-password' },
    /refused the login of "relay": bad user name or password; check MQTT_USERNAME and MQTT_PASSWORD/,
  ],
] as const) {
  test(`with ${what}, the page says why the relay cannot reach the broker`, async (t) => {
    const relay = await relayWith(env);
    t.after(() => relay.stop());
    const page = await browser.newPage();
    t.after(() => page.close());
    const opened = Date.now();
    await page.goto(relay.url);
    const problem = page.getByTestId('broker-problem');
    await problem.waitFor({ state: 'visible', timeout: 5000 });
    // "connecting to the broker" first, then the cause, as soon as the relay knows it.
    await page
      .waitForFunction(
        (pattern) => new RegExp(pattern).test(document.querySelector('[data-testid="broker-problem"]')?.textContent ?? ''),
        expected.source,
        { timeout: Math.max(0, 5000 - (Date.now() - opened)) },
      )
      .catch(() => undefined);
    t.diagnostic(`shown ${Date.now() - opened} ms after the page was opened: ${await problem.textContent()}`);
    assert.match((await problem.textContent()) ?? '', expected, 'the cause, within 5 s of opening the page');
    assert.match((await problem.textContent()) ?? '', new RegExp(`mqtts://localhost:${stack.ports.mqtts}`), 'it names the broker');
    const health = (await (await fetch(new URL('healthz', relay.url))).json()) as { mqtt: string; problem?: string };
    assert.equal(health.mqtt, 'disconnected');
    assert.match(health.problem ?? '', expected, '/healthz gives the same cause');
    assert.equal(await page.locator('#logout').isVisible(), false, 'no "log out" without a login');
  });
}

test('a camera whose source fails shows the error on its tile, and it stays there once the camera is offline', async (t) => {
  const publisher = ServiceProcess.start('publisher', {
    MQTT_URL: `mqtts://localhost:${stack.ports.mqtts}`,
    MQTT_CA_FILE: stack.caFile,
    MQTT_USERNAME: 'cam2',
    MQTT_PASSWORD: await stack.password('cam2'),
    CAMERA_ID: 'cam2',
    CAMERA_SOURCE: '/nonexistent/camera.mp4',
  });
  t.after(() => publisher.stop());
  const page = await browser.newPage();
  t.after(() => page.close());
  await page.goto(`http://127.0.0.1:${stack.ports.web}/`);
  const problem = page.locator('[data-camera="cam2"] [data-role="problem"]');
  await problem.waitFor({ state: 'visible', timeout: 15_000 });
  assert.match((await problem.textContent()) ?? '', /nonexistent\/camera\.mp4/);
  await publisher.stop();
  await page.locator('[data-camera="cam2"][data-state="offline"]').waitFor({ timeout: 15_000 });
  assert.match((await problem.textContent()) ?? '', /^last error: .*nonexistent\/camera\.mp4/);
});
