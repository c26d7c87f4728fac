/**
 * The publisher against the real bundled broker process with provisioned accounts: only accounts
 * the ACL lets write a camera's control topic can command it, and a kill -9 of the broker with a
 * restart on the same port is survived without a restart of the publisher and without stale
 * frames.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectAsync, type IPublishPacket } from 'mqtt';
import { ServiceProcess } from '@camqtt/test-support';
import { startBroker } from '@camqtt/test-support';
import { TestSubscriber, WAIT_MS, publisherEnv } from './support.js';

const ACCOUNTS = 'cam1:camera,cam2:camera,relay:relay,admin:admin';

describe('publisher with the bundled broker', () => {
  let dir: string;
  let broker: ServiceProcess;
  let port: number;
  let publisher: ServiceProcess;
  let watcher: TestSubscriber;
  const credentials = async (user: string): Promise<{ username: string; password: string }> => ({
    username: user,
    password: (await readFile(join(dir, 'passwords', user), 'utf8')).trim(),
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'camqtt-pub-broker-'));
    broker = startBroker(dir, ACCOUNTS);
    port = await broker.port('mqtt');
    const url = `mqtt://127.0.0.1:${port}`;
    publisher = ServiceProcess.start(
      'publisher',
      publisherEnv(url, {
        CAMERA_ID: 'cam1',
        CAMERA_SOURCE: 'testsrc',
        VIDEO_WIDTH: '320',
        VIDEO_HEIGHT: '240',
        MQTT_USERNAME: 'cam1',
        MQTT_PASSWORD_FILE: join(dir, 'passwords', 'cam1'),
        PUBLISHER_HEALTH_FILE: join(dir, 'publisher-health'),
      }),
    );
    watcher = await TestSubscriber.connect(url, 'cam1', 'camqtt', await credentials('admin'));
    await watcher.nextFrame();
  });

  after(async () => {
    await publisher.stop();
    await watcher.close();
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('while connected, the publisher keeps PUBLISHER_HEALTH_FILE fresh (what the compose health check reads)', async () => {
    const written = await readFile(join(dir, 'publisher-health'), 'utf8');
    const age = Date.now() - Date.parse(written.trim());
    assert.ok(age >= 0 && age < 15_000, `written ${age} ms ago: ${written}`);
    assert.ok(Date.now() - (await stat(join(dir, 'publisher-health'))).mtimeMs < 15_000);
  });

  test('the bundled broker speaks MQTT 5: the publisher connects with it (its frames carry MQTT 5 properties), and logs no warning', async () => {
    const client = await connectAsync(`mqtt://127.0.0.1:${port}`, {
      ...(await credentials('admin')),
      protocolVersion: 5,
      reconnectPeriod: 0,
      clientId: `test-v5-${Math.random().toString(16).slice(2)}`,
    });
    try {
      const frame = new Promise<IPublishPacket>((resolve) => client.once('message', (_topic, _payload, packet) => resolve(packet)));
      await client.subscribeAsync('camqtt/cam1/frame', { qos: 0 });
      const { properties } = await frame;
      assert.equal(properties?.contentType, 'image/jpeg');
    } finally {
      await client.endAsync();
    }
    // The log is where a warning would be.
    assert.equal(
      publisher.lines.some((line) => line.msg === 'mqtt error'),
      false,
    );
  });

  test("the relay and admin accounts may command a camera; another camera's account may not, and its command has no effect", async () => {
    const url = `mqtt://127.0.0.1:${port}`;
    const send = async (user: string, command: unknown): Promise<void> => {
      const client = await connectAsync(url, {
        ...(await credentials(user)),
        reconnectPeriod: 0,
        clientId: `test-${user}-${Math.random().toString(16).slice(2)}`,
      });
      // The broker may drop the connection of a client that publishes where it must not.
      client.on('error', () => undefined);
      try {
        // QoS 1 where allowed, so the broker has it before we hang up; QoS 0 where refused, as a
        // refused QoS 1 publish is never acknowledged.
        await client.publishAsync('camqtt/cam1/control', JSON.stringify(command), { qos: user === 'cam2' ? 0 : 1 });
      } finally {
        await client.endAsync();
      }
    };

    await send('relay', { quality: 33, id: 'from-relay' });
    const relayAnswer = await watcher.status((s) => s.lastCommand?.id === 'from-relay');
    assert.equal(relayAnswer.lastCommand?.ok, true);
    assert.equal(relayAnswer.quality, 33);

    await send('admin', { fps: 5, id: 'from-admin' });
    const adminAnswer = await watcher.status((s) => s.lastCommand?.id === 'from-admin');
    assert.equal(adminAnswer.targetFps, 5);

    await send('cam2', { quality: 11, id: 'intruder' });
    // Commands are handled in order, so once a later one is answered the intruder's would have been.
    await send('relay', { quality: 34, id: 'after-intruder' });
    const last = await watcher.status((s) => s.lastCommand?.id === 'after-intruder');
    assert.equal(last.quality, 34);
    assert.equal(
      watcher.statuses.some((s) => s.lastCommand?.id === 'intruder' || s.quality === 11),
      false,
    );
  });

  test('kill -9 of the broker and a restart on the same port: the publisher reconnects by itself and sends fresh frames only', async () => {
    const before = await watcher.nextFrame();
    broker.child.kill('SIGKILL');
    await publisher.waitForLog((line) => line.msg === 'disconnected; reconnecting', WAIT_MS);
    const killedAt = Date.now();
    const connectedBefore = publisher.lines.filter((line) => line.msg === 'connected').length;
    // A status period passes with the broker down: frames grabbed meanwhile must not pile up.
    await publisher.waitForLog((line) => line.msg === 'pipeline stats' && Number(line.time) > killedAt + 100, WAIT_MS);

    broker = startBroker(dir, ACCOUNTS, { BROKER_MQTT_PORT: String(port) });
    assert.equal(await broker.port('mqtt'), port);
    const backAt = Date.now();
    const reconnected = await publisher.waitForLog(
      () => publisher.lines.filter((line) => line.msg === 'connected').length > connectedBefore,
      WAIT_MS,
    );
    const first = await watcher.nextFrame((frame) => (frame.meta?.seq ?? 0) > (before.meta?.seq ?? 0), WAIT_MS);
    assert.ok(first.meta);
    assert.ok(first.meta.captureTime > killedAt, 'the first frame after the outage was grabbed after it began: nothing was queued');
    const next = await watcher.collectFrames(5);
    for (const frame of next) assert.ok((frame.meta?.captureTime ?? 0) > killedAt);
    assert.equal(publisher.exitCode, null);
    const status = await watcher.nextStatus((s) => s.online);
    assert.ok((status.framesDropped ?? 0) > 0, 'frames of the outage were counted as dropped');
    console.log(
      `# broker back -> publisher connected ${Number(reconnected.time) - backAt} ms, -> first fresh frame at a subscriber ${first.receivedAt - backAt} ms`,
    );
  });
});
