/**
 * The real compose stack in a Docker engine, started the way the README tells a stranger to: a
 * fresh copy of the checkout, `cp .env.example .env`, the README's "No camera?" edits, `docker
 * compose up`; checked in Chromium. Then the same with non-default values, each checked where a
 * user would see it. Needs a running Docker engine (CI starts one with ../shared/docker/engine.sh up).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { connectAsync } from 'mqtt';
import type { Browser } from 'playwright-core';
import { launchBrowser, readTile, watchCamera } from '@camqtt/test-support';
import { ComposeProject, freePort, readmeNoCameraEdits, waitUntil } from './compose-project.js';

const run = promisify(execFile);
let browser: Browser | undefined;

before(async () => {
  assert.equal(
    spawnSync('docker', ['info'], { stdio: 'ignore' }).status,
    0,
    'a Docker engine must be running (../shared/docker/engine.sh up)',
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** Free host ports instead of 8080 and 8883 (taken on a developer's machine); compose lets the shell's value win over .env. */
async function portEnv(): Promise<Record<string, string>> {
  return { WEB_PORT: String(await freePort()), BROKER_MQTTS_PORT: String(await freePort()) };
}

async function printLogs(project: ComposeProject): Promise<void> {
  const logs = await project.compose(['logs', '--no-color', '--tail', '30']).catch((error: unknown) => String(error));
  process.stdout.write(`# compose logs (tail)\n${logs.replace(/^/gm, '# ')}\n`);
}

describe("cp .env.example .env, the README's edits, docker compose up", () => {
  let project: ComposeProject;
  let ports: Record<string, string>;

  before(async () => {
    ports = await portEnv();
    project = new ComposeProject(readmeNoCameraEdits(), { ...process.env, ...ports });
    await project.compose(['build', '--parallel']);
  });

  after(async () => {
    if (!project) return;
    await printLogs(project);
    await project.down();
  });

  test('the page shows the camera live, with FPS and latency', async (t) => {
    const upAt = Date.now();
    await project.compose(['up', '-d']);
    const url = `http://127.0.0.1:${ports.WEB_PORT}/`;
    const page = await browser!.newPage();
    await waitUntil('the page is served', async () => (await page.goto(url))?.ok(), 60_000);
    await page.locator('[data-camera="cam1"] canvas[data-sized]').waitFor({ timeout: 60_000 });
    t.diagnostic(`first frame on the page ${((Date.now() - upAt) / 1000).toFixed(1)} s after a warm \`docker compose up\``);
    await page.close();
    const { first, second, reading, page: watching } = await watchCamera(browser!, url, 'cam1', 60_000);
    assert.notEqual(first, second, 'the picture changes over time');
    assert.ok(reading.fps > 0, `FPS shows a positive number (${reading.fps})`);
    assert.ok(Number.isFinite(reading.latencyMs), `latency shows a number (${reading.latencyText})`);
    // Figures for the record, read once the rate window holds a few seconds of steady stream.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const steady = await readTile(watching, 'cam1');
    t.diagnostic(`compose page after 4 s: ${steady.fps} fps, latency ${steady.latencyText}`);
    for (const image of ['camqtt-broker', 'camqtt-publisher', 'camqtt-web', 'camqtt-recorder']) {
      const { stdout } = await run('docker', ['image', 'inspect', `${image}:latest`, '--format', '{{.Size}}']);
      t.diagnostic(`${image} image: ${(Number(stdout.trim()) / 1e6).toFixed(0)} MB`);
    }
  });

  test('every service turns healthy, the publisher included', async () => {
    for (const service of ['broker', 'publisher', 'web', 'recorder']) {
      await waitUntil(`${service} healthy`, async () => (await project.inspect(service, '{{.State.Health.Status}}')) === 'healthy', 90_000);
    }
  });

  test('least privilege: each service holds only its own secrets, no capabilities, a read-only root; only MQTT over TLS and the page are published', async () => {
    assert.deepEqual((await project.exec('publisher', ['ls', '/secrets'])).trim().split('\n'), ['ca.crt', 'password']);
    assert.deepEqual((await project.exec('web', ['ls', '/secrets'])).trim().split('\n'), ['ca.crt', 'password']);
    assert.deepEqual((await project.exec('recorder', ['ls', '/secrets'])).trim().split('\n'), ['ca.crt', 'password']);
    assert.notEqual(await project.exec('publisher', ['cat', '/secrets/password']), await project.exec('web', ['cat', '/secrets/password']));
    assert.notEqual(await project.exec('recorder', ['cat', '/secrets/password']), await project.exec('web', ['cat', '/secrets/password']));
    await assert.rejects(project.exec('publisher', ['ls', '/config']), "the broker's folder (CA key, users) is not in the publisher");
    for (const service of ['broker', 'publisher', 'web', 'recorder']) {
      assert.equal(await project.inspect(service, '{{json .HostConfig.CapDrop}}'), '["ALL"]', `${service} drops every capability`);
      assert.equal(await project.inspect(service, '{{.HostConfig.ReadonlyRootfs}}'), 'true', `${service} has a read-only root`);
      assert.match(await project.inspect(service, '{{json .HostConfig.SecurityOpt}}'), /no-new-privileges/);
      assert.ok(Number(await project.inspect(service, '{{.HostConfig.Memory}}')) > 0, `${service} has a memory limit`);
    }
    const published = await project.inspect('broker', '{{json .NetworkSettings.Ports}}');
    assert.doesNotMatch(published, /"1883\/tcp":\[/, `plain MQTT is not published: ${published}`);
    assert.match(
      await project.inspect('web', '{{json .NetworkSettings.Ports}}'),
      /"HostIp":"127\.0\.0\.1"/,
      'the page is published on 127.0.0.1 only',
    );
  });
});

describe('non-default values in .env reach the services and take effect', () => {
  let project: ComposeProject;
  let ports: Record<string, string>;
  const viewerPassword = 'a-viewer-password';

  before(async () => {
    ports = await portEnv();
    project = new ComposeProject(
      {
        ...readmeNoCameraEdits(),
        CAMERA_ID: 'door',
        VIDEO_WIDTH: '320',
        VIDEO_HEIGHT: '240',
        VIDEO_FPS: '12',
        JPEG_QUALITY: '40',
        STATUS_INTERVAL_S: '2',
        MQTT_MAX_MESSAGES_PER_S: '8',
        TOPIC_PREFIX: 'home/cams',
        LOG_LEVEL: 'warn',
        BROKER_TLS_HOSTNAMES: 'broker,cams.example',
        VIEWER_PASSWORD: viewerPassword,
        VIEWER_CONTROL: 'false',
      },
      { ...process.env, ...ports },
    );
    await project.compose(['up', '-d']);
  });

  after(async () => {
    if (!project) return;
    await printLogs(project);
    await project.down();
  });

  test('the camera, its size, fps cap, quality, the viewer password and VIEWER_CONTROL are as set', async () => {
    const base = `http://127.0.0.1:${ports.WEB_PORT}`;
    const auth = { authorization: `Basic ${Buffer.from(`any:${viewerPassword}`).toString('base64')}` };
    await waitUntil('the relay answers', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok, 120_000);
    assert.equal((await fetch(`${base}/api/cameras`)).status, 401, 'VIEWER_PASSWORD: no login, no cameras');
    type Status = { camera: string; width: number; height: number; targetFps: number; quality: number; warnings?: string[] };
    const door = await waitUntil(
      'camera door listed',
      async () => {
        const cameras = (await (await fetch(`${base}/api/cameras`, { headers: auth })).json()) as Status[];
        return cameras.find((camera) => camera.camera === 'door');
      },
      60_000,
    );
    assert.deepEqual(
      [door.width, door.height, door.quality, door.targetFps],
      [320, 240, 40, 8],
      'VIDEO_WIDTH/HEIGHT, JPEG_QUALITY, VIDEO_FPS capped by MQTT_MAX_MESSAGES_PER_S',
    );
    assert.match(door.warnings?.join(' ') ?? '', /8/, 'the fps cap is explained');
    const control = await fetch(`${base}/api/cameras/door/control`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', origin: base },
      body: '{"fps":5}',
    });
    assert.equal(control.status, 403, 'VIEWER_CONTROL=false');
  });

  test('the broker speaks TLS as cams.example on BROKER_MQTTS_PORT, with the camera under TOPIC_PREFIX', async () => {
    const ca = await project.exec('broker', ['cat', '/config/tls/ca.crt']);
    const password = (await project.exec('broker', ['cat', '/config/passwords/relay'])).trim();
    const client = await connectAsync(`mqtts://127.0.0.1:${ports.BROKER_MQTTS_PORT}`, {
      ca,
      servername: 'cams.example',
      username: 'relay',
      password,
      reconnectPeriod: 0,
    });
    try {
      const status = new Promise<string>((resolve) =>
        client.on('message', (topic, payload) => resolve(`${topic} ${payload.toString('utf8')}`)),
      );
      await client.subscribeAsync('home/cams/door/status');
      assert.match(await status, /^home\/cams\/door\/status \{"camera":"door","online":true/);
    } finally {
      await client.endAsync();
    }
  });

  test("LOG_LEVEL=warn holds back every service's info lines", async () => {
    const logs = await project.compose(['logs', '--no-color']);
    assert.match(logs, /"level":40/, 'warnings still show (the relay warns about the fps cap or its login)');
    assert.doesNotMatch(logs, /"level":30/);
  });
});
