/**
 * Faults around the publisher: the broker going away and coming back, and a wrong setting.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { ServiceProcess, TestBroker } from '@camqtt/test-support';
import { TestSubscriber, WAIT_MS, publisherEnv } from './support.js';

describe('publisher faults', () => {
  const broker = new TestBroker();
  const processes: ServiceProcess[] = [];
  const subscribers: TestSubscriber[] = [];

  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await Promise.all(subscribers.map((s) => s.close()));
    await broker.stop();
  });

  test('the broker closing and coming back on the same port: frames resume, nothing stale is replayed', async () => {
    await broker.start();
    const publisher = ServiceProcess.start(
      'publisher',
      publisherEnv(broker.url, { CAMERA_ID: 'flaky', CAMERA_SOURCE: 'testsrc', VIDEO_WIDTH: '320', VIDEO_HEIGHT: '240' }),
    );
    processes.push(publisher);
    const subscriber = await TestSubscriber.connect(broker.url, 'flaky');
    subscribers.push(subscriber);
    const before = await subscriber.nextFrame();
    assert.ok(before.meta);

    const port = broker.port;
    await broker.stop();
    const stoppedAt = Date.now();
    // Only the publisher's log tells that it noticed the outage (nobody is there to see it).
    await publisher.waitForLog((line) => line.msg === 'disconnected; reconnecting');
    await broker.start(port);

    // The publisher reconnects by itself, the subscriber too: frames resume.
    const after = await subscriber.nextFrame((frame) => (frame.meta?.seq ?? 0) > before.meta!.seq, WAIT_MS);
    assert.ok(after.meta);
    // Frames grabbed while the broker was away were dropped, not queued for later.
    assert.ok(after.meta.captureTime > stoppedAt, 'the first frame after the outage was grabbed after it began');
    assert.equal(publisher.exitCode, null);
    const status = await subscriber.status((s) => s.online && (s.framesDropped ?? 0) > 0);
    assert.equal(status.camera, 'flaky');
  });

  test('a camera device that is not there: the status says so, the publisher retries and stays up', async () => {
    if (!broker.port) await broker.start();
    const subscriber = await TestSubscriber.connect(broker.url, 'nocam');
    subscribers.push(subscriber);
    const publisher = ServiceProcess.start('publisher', publisherEnv(broker.url, { CAMERA_ID: 'nocam', CAMERA_SOURCE: '/dev/video63' }));
    processes.push(publisher);
    const status = await subscriber.status((s) => s.online && s.error !== undefined);
    assert.equal(status.error, 'no such camera device: /dev/video63');
    assert.equal(status.framesSent, 0);
    // A retry leaves no trace but the log: the same error again.
    const failed = await publisher.waitForLog((line) => line.msg === 'source failed');
    await publisher.waitForLog((line) => line.msg === 'source failed' && line !== failed);
    assert.equal(publisher.exitCode, null);
  });

  test('credentials in CAMERA_SOURCE and MQTT_URL never reach the retained status or the log', async () => {
    if (!broker.port) await broker.start();
    // A port nothing listens on: the stream fails at once, with FFmpeg's message about it.
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const subscriber = await TestSubscriber.connect(broker.url, 'leaky');
    subscribers.push(subscriber);
    const source = `rtsp://admin:p@ss@127.0.0.1:${port}/stream?user=admin&password=hunter2&channel=1`;
    const mqttUrl = broker.url.replace('mqtt://', 'mqtt://pubuser:mqttsecret@');
    const publisher = ServiceProcess.start('publisher', publisherEnv(mqttUrl, { CAMERA_ID: 'leaky', CAMERA_SOURCE: source }));
    processes.push(publisher);
    const status = await subscriber.status((s) => s.online && s.error !== undefined);
    assert.equal(status.source, `rtsp://***@127.0.0.1:${port}/stream?user=***&password=***&channel=1`);
    await publisher.waitForLog((line) => line.msg === 'source failed');
    const everything = [JSON.stringify(status), ...publisher.lines.map((line) => JSON.stringify(line)), ...publisher.rawOutput].join('\n');
    for (const secret of ['p@ss', '@ss@', 'hunter2', 'mqttsecret']) assert.ok(!everything.includes(secret), `${secret} leaked`);
    assert.ok(publisher.lines.some((line) => line.msg === 'connected' && line.url === broker.url.replace('mqtt://', 'mqtt://***@')));
    assert.equal(publisher.exitCode, null);
  });

  test('a bad setting exits with code 2 and one stderr line naming it', async () => {
    const publisher = ServiceProcess.start('publisher', { VIDEO_FPS: 'abc', CAMERA_SOURCE: 'testsrc', MQTT_URL: 'mqtt://127.0.0.1:1' });
    processes.push(publisher);
    await once(publisher.child, 'close');
    assert.equal(publisher.exitCode, 2);
    assert.equal(publisher.rawOutput.length, 1, publisher.rawOutput.join('\n'));
    assert.match(publisher.rawOutput[0]!, /VIDEO_FPS/);
    assert.deepEqual(publisher.lines, []);
  });
});
