/**
 * Credentials a camera's status carries (an older publisher's source URL) and the ones in the
 * relay's own MQTT_URL never reach /api/cameras, a viewer or the relay's log.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type ServiceProcess, TestBroker, waitFor } from '@camqtt/test-support';
import { connectPublisher, getJson, PREFIX, startRelay, TestViewer } from './support.js';

let broker: TestBroker;
let relay: ServiceProcess;
let baseUrl: string;
let publisher: MqttClient;

before(async () => {
  broker = await TestBroker.start();
  // The test broker takes any account; the relay must still keep this password to itself.
  ({ relay, baseUrl } = await startRelay(broker.url.replace('mqtt://', 'mqtt://relay:mqttsecret@')));
  publisher = await connectPublisher(broker.url);
});

after(async () => {
  await publisher?.endAsync();
  await relay?.stop();
  await broker?.stop();
});

test('a status with credentials in its source and error is served without them; MQTT_URL is logged redacted', async () => {
  const leaky = 'rtsp://admin:p@ss@cam.local/stream?user=admin&pwd=hunter2';
  await publisher.publishAsync(
    `${PREFIX}/oldcam/status`,
    JSON.stringify({ camera: 'oldcam', online: true, source: leaky, error: `cannot open stream ${leaky} (401)` }),
    { qos: 1, retain: true },
  );
  const cameras = await waitFor('oldcam in /api/cameras', async () => {
    const { body } = await getJson(`${baseUrl}/api/cameras`);
    return (body as Array<{ camera: string; source?: string; error?: string }>).find((camera) => camera.camera === 'oldcam');
  });
  assert.equal(cameras.source, 'rtsp://***@cam.local/stream?user=***&pwd=***');
  assert.equal(cameras.error, 'cannot open stream rtsp://***@cam.local/stream?user=***&pwd=*** (401)');
  const viewer = await TestViewer.connect(baseUrl);
  try {
    const hello = await viewer.event('hello');
    assert.doesNotMatch(JSON.stringify(hello), /p@ss|hunter2/);
  } finally {
    await viewer.close();
  }
  const log = relay.lines.map((line) => JSON.stringify(line)).join('\n');
  assert.doesNotMatch(log, /mqttsecret|p@ss|hunter2/);
  // The relay names its broker by address alone: no user, no password.
  assert.ok(
    relay.lines.some((line) => line.msg === 'connected to the MQTT broker' && line.broker === broker.url.replace(/\/$/, '')),
    log,
  );
});
