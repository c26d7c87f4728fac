/**
 * The recorder's motion sensor as Home Assistant reads it: a client with the provisioned
 * `homeassistant` account (MQTT 5 over TLS) finds the camera and its motion `binary_sensor` by
 * discovery, on one device, and renders the sensor's templates (Jinja, here through nunjucks,
 * which reads the same expressions) on the messages of its state and availability topics, as Home
 * Assistant does: off, on when the file's box starts to move, off after the post-roll. The
 * recorder runs with RECORD_MODE=off: motion events without recordings.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { connectAsync, type MqttClient } from 'mqtt';
import nunjucks from 'nunjucks';
import { ServiceProcess, startBroker, stopAllProcesses, waitFor } from '@camqtt/test-support';

const run = promisify(execFile);
const jinja = new nunjucks.Environment();

interface Availability {
  topic: string;
  value_template: string;
}
interface SensorConfig {
  unique_id: string;
  device_class: string;
  state_topic: string;
  value_template: string;
  json_attributes_topic: string;
  availability: Availability[];
  availability_mode: string;
  device: { identifiers: string[] };
}

let dir: string;
let homeAssistant: MqttClient;
let recorder: ServiceProcess;
let recorderEnv: Record<string, string>;
const received = new Map<string, Buffer[]>();

function messages(topic: string): Buffer[] {
  return received.get(topic) ?? [];
}

/** What Home Assistant makes of a payload with a template: value_json is the payload's JSON. */
function render(template: string, payload: Buffer): string {
  return jinja
    .renderString(template, { value: payload.toString('utf8'), value_json: JSON.parse(payload.toString('utf8')) as unknown })
    .trim();
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'camqtt-motion-ha-'));
  const video = join(dir, 'moving.avi');
  // Still for 4 s, a white box moving for 2 s, still for 6 s; looped by the publisher.
  await run('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=0x505050:size=640x480:rate=30:duration=12'],
    ...['-f', 'lavfi', '-i', 'color=c=white:size=80x80:rate=30'],
    ...['-filter_complex', "[0][1]overlay=x='100+(t-4)*150':y=200:enable='between(t,4,6)':shortest=1"],
    ...['-c:v', 'mjpeg', '-q:v', '4', video],
  ]);
  const provisionDir = join(dir, 'broker');
  const broker = startBroker(provisionDir, 'cam1:camera,recorder:recorder,homeassistant:homeassistant');
  const mqttsUrl = `mqtts://localhost:${await broker.port('mqtts')}`;
  const caFile = join(provisionDir, 'tls', 'ca.crt');
  const clientEnv = (user: string): Record<string, string> => ({
    MQTT_URL: mqttsUrl,
    MQTT_CA_FILE: caFile,
    MQTT_USERNAME: user,
    MQTT_PASSWORD_FILE: join(provisionDir, 'passwords', user),
  });
  homeAssistant = await connectAsync(mqttsUrl, {
    protocolVersion: 5,
    ca: await readFile(caFile),
    username: 'homeassistant',
    password: (await readFile(join(provisionDir, 'passwords', 'homeassistant'), 'utf8')).trim(),
    reconnectPeriod: 0,
  });
  homeAssistant.on('message', (topic, payload) => received.set(topic, [...messages(topic), payload]));
  await homeAssistant.subscribeAsync('homeassistant/#');
  recorderEnv = { ...clientEnv('recorder'), RECORD_MODE: 'off', RECORD_POSTROLL_S: '2', RECORD_METRICS_PORT: 'off' };
  recorder = ServiceProcess.start('recorder', recorderEnv);
  ServiceProcess.start('publisher', { ...clientEnv('cam1'), CAMERA_ID: 'cam1', CAMERA_SOURCE: video });
});

after(async () => {
  await homeAssistant?.endAsync(true);
  await stopAllProcesses();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("Home Assistant finds the motion sensor on the camera's device and follows it: on when the box moves, off after the post-roll", async () => {
  const cameraConfig = JSON.parse(
    (await waitFor('the camera', () => messages('homeassistant/camera/camqtt_camqtt/cam1/config')[0], 30_000)).toString('utf8'),
  ) as { unique_id: string; device: { identifiers: string[] } };
  const sensorTopic = 'homeassistant/binary_sensor/camqtt_camqtt/cam1/config';
  const sensor = JSON.parse((await waitFor('the motion sensor', () => messages(sensorTopic)[0], 30_000)).toString('utf8')) as SensorConfig;
  assert.equal(sensor.device_class, 'motion');
  assert.deepEqual(sensor.device.identifiers, cameraConfig.device.identifiers, "one device: the camera's");
  assert.notEqual(sensor.unique_id, cameraConfig.unique_id);
  assert.equal(sensor.state_topic, 'camqtt/cam1/event');
  assert.equal(sensor.availability_mode, 'all');

  await homeAssistant.subscribeAsync([sensor.state_topic, ...sensor.availability.map((a) => a.topic)]);
  for (const { topic, value_template } of sensor.availability) {
    const availability = await waitFor(`availability on ${topic}`, () => messages(topic).at(-1), 30_000);
    assert.equal(render(value_template, availability), 'online', topic);
  }
  const states = (): string[] => messages(sensor.state_topic).map((payload) => render(sensor.value_template, payload));
  await waitFor('motion on', () => states().includes('ON'), 30_000);
  await waitFor('then off again', () => states().lastIndexOf('OFF') > states().indexOf('ON'), 30_000);
  const attributes = JSON.parse(messages(sensor.json_attributes_topic).at(-1)!.toString('utf8')) as Record<string, unknown>;
  assert.equal(attributes.state, 'end');
  assert.ok(typeof attributes.score === 'number' && attributes.score > 0, 'the score is an attribute');
  console.log(`# states as Home Assistant reads them: ${states().join(' ')}`);
});

test("Home Assistant's birth message brings the motion sensor's config again", async () => {
  const topic = 'homeassistant/binary_sensor/camqtt_camqtt/cam1/config';
  const before = messages(topic).length;
  await homeAssistant.publishAsync('homeassistant/status', 'online', { qos: 1 });
  await waitFor('the config again', () => messages(topic).length > before, 10_000);
});

test('HA_DISCOVERY=false on the recorder clears the retained sensor config, which removes the sensor', async () => {
  const topic = 'homeassistant/binary_sensor/camqtt_camqtt/cam1/config';
  await recorder.stop();
  const before = messages(topic).length;
  recorder = ServiceProcess.start('recorder', { ...recorderEnv, HA_DISCOVERY: 'false' });
  const cleared = await waitFor('an empty retained config', () => messages(topic).slice(before).at(-1), 30_000);
  assert.equal(cleared.length, 0);
});
