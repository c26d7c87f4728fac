/**
 * Plays Home Assistant's MQTT integration against the stack: logs in with the provisioned
 * `homeassistant` account over TLS, finds the camera through discovery, shows its still and
 * follows its availability. It speaks MQTT 5, as Home Assistant 2027.1 does (it refuses 3.x brokers).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { connectAsync, type MqttClient } from 'mqtt';
import { checkJpeg } from '@camqtt/wire';
import { ServiceProcess, startStack, type Stack } from '@camqtt/test-support';

let stack: Stack;
let homeAssistant: MqttClient;
const received = new Map<string, Buffer[]>();

/** The next message on `topic` (or one already received, when `seen` allows). */
async function message(topic: string, timeoutMs: number, seen = 0): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs;
  while ((received.get(topic)?.length ?? 0) <= seen) {
    if (Date.now() > deadline)
      throw new Error(`nothing on ${topic} within ${timeoutMs} ms (topics seen: ${[...received.keys()].join(', ')})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return received.get(topic)![seen]!;
}

before(async () => {
  stack = await startStack([{ id: 'cam1', source: 'testsrc', env: { HA_IMAGE_INTERVAL_S: '1', WEB_PUBLIC_URL: 'https://cams.example' } }], {
    extraAccounts: ['homeassistant:homeassistant'],
  });
  homeAssistant = await connectAsync(`mqtts://localhost:${stack.ports.mqtts}`, {
    protocolVersion: 5,
    ca: await readFile(stack.caFile),
    username: 'homeassistant',
    password: await stack.password('homeassistant'),
    reconnectPeriod: 0,
  });
  homeAssistant.on('message', (topic, payload) => received.set(topic, [...(received.get(topic) ?? []), payload]));
});

after(async () => {
  await homeAssistant?.endAsync(true);
  await stack?.stop();
});

test('Home Assistant finds the camera by discovery and shows its retained still', async () => {
  await homeAssistant.subscribeAsync('homeassistant/#');
  const config = JSON.parse((await message('homeassistant/camera/camqtt_camqtt/cam1/config', 10_000)).toString('utf8')) as Record<
    string,
    unknown
  > & { device: Record<string, unknown> };
  assert.equal(config.topic, 'camqtt/cam1/image');
  assert.equal(config.availability_topic, 'camqtt/cam1/status');
  assert.equal(config.unique_id, 'camqtt_camqtt_cam1');
  assert.equal(config.device.configuration_url, 'https://cams.example/#camera=cam1');
  assert.deepEqual(config.device.identifiers, ['camqtt_camqtt_cam1']);

  // Home Assistant subscribes to the camera's topic and gets the retained still at once.
  const subscribedAt = Date.now();
  await homeAssistant.subscribeAsync([config.topic, config.availability_topic]);
  const image = await message(config.topic, 1000);
  assert.deepEqual(checkJpeg(image), { ok: true }, 'the still is a complete JPEG');
  console.log(`# retained still ${Date.now() - subscribedAt} ms after subscribing`);
  const status = JSON.parse((await message(config.availability_topic, 1000)).toString('utf8')) as { online: boolean };
  assert.equal(status.online, true, 'available');
  await assert.rejects(
    homeAssistant.subscribeAsync('camqtt/+/frame'),
    /Subscribe error/,
    'the homeassistant account may not read the 30 fps frames',
  );
});

test("Home Assistant's birth message brings the discovery config again", async () => {
  const topic = 'homeassistant/camera/camqtt_camqtt/cam1/config';
  const before = received.get(topic)?.length ?? 0;
  await homeAssistant.publishAsync('homeassistant/status', 'online', { qos: 1 });
  await message(topic, 5000, before);
});

test('kill -9 of the publisher: the availability topic says offline within the keepalive', async () => {
  const topic = 'camqtt/cam1/status';
  const before = received.get(topic)?.length ?? 0;
  stack.publishers[0]!.child.kill('SIGKILL');
  const killedAt = Date.now();
  for (let seen = before; ; seen += 1) {
    const status = JSON.parse((await message(topic, 30_000, seen)).toString('utf8')) as { online: boolean };
    if (!status.online) break;
  }
  console.log(`# offline ${((Date.now() - killedAt) / 1000).toFixed(1)} s after kill -9 (keepalive 15 s)`);
});

test('HA_DISCOVERY=false clears the retained config, which removes the entity', async () => {
  const topic = 'homeassistant/camera/camqtt_camqtt/cam1/config';
  const before = received.get(topic)?.length ?? 0;
  const publisher = ServiceProcess.start('publisher', {
    MQTT_URL: `mqtts://localhost:${stack.ports.mqtts}`,
    MQTT_CA_FILE: stack.caFile,
    MQTT_PASSWORD: await stack.password('cam1'),
    CAMERA_ID: 'cam1',
    CAMERA_SOURCE: 'testsrc',
    HA_DISCOVERY: 'false',
  });
  try {
    assert.equal((await message(topic, 10_000, before)).length, 0, 'an empty retained config');
    const deadline = Date.now() + 10_000;
    while (received.get('camqtt/cam1/image')?.at(-1)?.length !== 0) {
      assert.ok(Date.now() < deadline, 'the retained still is cleared too');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await publisher.stop();
  }
});
