/**
 * A stand-in for a cloud broker: Debian's Mosquitto, started here with a password file and only a
 * TLS listener (certificate from the broker's certificate code, our own CA). The publisher is
 * pointed at it with env changes only: mqtts:// URL, account, password, CA file.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { connectAsync } from 'mqtt';
import { readFrameMeta } from '@camqtt/wire';
import { createCertificateAuthority, createServerCertificate } from '../../../broker/src/certificates.js';
import { ServiceProcess } from '@camqtt/test-support';
import { TestSubscriber, WAIT_MS, publisherEnv } from './support.js';

/** A port free right now (Mosquitto cannot report the port of a listener on 0). */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('publisher against Mosquitto over TLS with a password file', () => {
  let dir: string;
  let mosquitto: ChildProcess | undefined;
  let port: number;
  const output: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'camqtt-mosquitto-'));
    const ca = await createCertificateAuthority({ permittedNames: ['localhost', '127.0.0.1'] });
    const server = await createServerCertificate(ca, ['localhost', '127.0.0.1']);
    await writeFile(join(dir, 'ca.crt'), ca.cert);
    await writeFile(join(dir, 'server.crt'), server.cert);
    await writeFile(join(dir, 'server.key'), server.key, { mode: 0o600 });
    const passwords = join(dir, 'passwd');
    execFileSync('mosquitto_passwd', ['-c', '-b', passwords, 'cam1', 'cam1-secret']);
    execFileSync('mosquitto_passwd', ['-b', passwords, 'watcher', 'watcher-secret']);
    await chmod(passwords, 0o600);
    port = await freePort();
    await writeFile(
      join(dir, 'mosquitto.conf'),
      [
        // Started as root (CI), Mosquitto would switch to the mosquitto user and lose our files.
        'user root',
        'per_listener_settings false',
        'allow_anonymous false',
        `password_file ${passwords}`,
        'persistence false',
        // stderr: unbuffered, so the "running" line arrives while it is true.
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'log_type information',
        `listener ${port} 127.0.0.1`,
        `cafile ${join(dir, 'ca.crt')}`,
        `certfile ${join(dir, 'server.crt')}`,
        `keyfile ${join(dir, 'server.key')}`,
        '',
      ].join('\n'),
    );
    const child = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    mosquitto = child;
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stderr }).on('line', (line) => {
        output.push(line);
        if (/ running$/.test(line)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`mosquitto exited (${code}):\n${output.join('\n')}`)));
    });
    await ready;
  });

  after(async () => {
    if (mosquitto && mosquitto.exitCode === null) {
      const exited = once(mosquitto, 'exit');
      mosquitto.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('frames and status flow over mqtts:// with only MQTT_URL, MQTT_USERNAME, MQTT_PASSWORD and MQTT_CA_FILE set', async () => {
    const url = `mqtts://localhost:${port}`;
    const ca = join(dir, 'ca.crt');
    const subscriber = await TestSubscriber.connect(url, 'cam1', 'camqtt', {
      username: 'watcher',
      password: 'watcher-secret',
      ca: await readFile(ca),
    });
    const publisher = ServiceProcess.start(
      'publisher',
      publisherEnv(url, {
        CAMERA_ID: 'cam1',
        CAMERA_SOURCE: 'testsrc',
        VIDEO_WIDTH: '320',
        VIDEO_HEIGHT: '240',
        MQTT_USERNAME: 'cam1',
        MQTT_PASSWORD: 'cam1-secret',
        MQTT_CA_FILE: ca,
      }),
    );
    try {
      const frames = await subscriber.collectFrames(5, WAIT_MS);
      for (const frame of frames) assert.equal(frame.meta?.camera, 'cam1');
      const status = await subscriber.status((s) => s.online && (s.framesSent ?? 0) > 0);
      assert.equal(status.source, 'testsrc');
      assert.equal(await publisher.stop(), 0);
      assert.deepEqual(await subscriber.status((s) => !s.online), { camera: 'cam1', online: false });
    } finally {
      await publisher.stop();
      await subscriber.close();
    }
  });

  test("Mosquitto speaks MQTT 5, so the publisher uses it: frames carry content type, expiry and the JPEG comment's metadata as user properties", async () => {
    const url = `mqtts://localhost:${port}`;
    const ca = await readFile(join(dir, 'ca.crt'));
    const watcher = await connectAsync(url, {
      protocolVersion: 5,
      username: 'watcher',
      password: 'watcher-secret',
      ca,
      reconnectPeriod: 0,
    });
    const publisher = ServiceProcess.start(
      'publisher',
      publisherEnv(url, {
        CAMERA_ID: 'cam1',
        CAMERA_SOURCE: 'testsrc',
        VIDEO_WIDTH: '320',
        VIDEO_HEIGHT: '240',
        MQTT_USERNAME: 'cam1',
        MQTT_PASSWORD: 'cam1-secret',
        MQTT_CA_FILE: join(dir, 'ca.crt'),
        FRAME_EXPIRY_S: '3',
      }),
    );
    try {
      const frame = new Promise<{ payload: Buffer; properties: Record<string, unknown> }>((resolve) => {
        watcher.on('message', (_topic, payload, packet) => resolve({ payload, properties: packet.properties ?? {} }));
      });
      await watcher.subscribeAsync('camqtt/cam1/frame');
      const { payload, properties } = await frame;
      const meta = readFrameMeta(payload);
      assert.ok(meta, 'the JPEG comment stays');
      assert.equal(properties.contentType, 'image/jpeg');
      assert.ok(
        Number(properties.messageExpiryInterval) <= 3 && Number(properties.messageExpiryInterval) > 0,
        `expiry ${String(properties.messageExpiryInterval)}`,
      );
      assert.deepEqual(
        { ...(properties.userProperties as object) },
        { camera: 'cam1', seq: String(meta.seq), captureTime: String(meta.captureTime) },
      );
    } finally {
      await publisher.stop();
      await watcher.endAsync();
    }
  });

  test('a wrong password is refused by the broker: the publisher keeps retrying and says why', async () => {
    const publisher = ServiceProcess.start(
      'publisher',
      publisherEnv(`mqtts://localhost:${port}`, {
        CAMERA_ID: 'cam1',
        CAMERA_SOURCE: 'testsrc',
        MQTT_USERNAME: 'cam1',
        MQTT_PASSWORD: 'wrong',
        MQTT_CA_FILE: join(dir, 'ca.crt'),
      }),
    );
    try {
      const error = await publisher.waitForLog((line) => line.msg === 'mqtt error', WAIT_MS);
      assert.match(String(error.error), /Not authorized|Bad User Name or Password/i);
      assert.equal(publisher.exitCode, null);
    } finally {
      await publisher.stop();
    }
  });
});
