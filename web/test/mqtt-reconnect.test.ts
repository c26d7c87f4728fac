import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { readFrameMeta, Topics, withFrameMeta } from '@camqtt/wire';
import { type ServiceProcess, TestBroker, waitFor } from '@camqtt/test-support';
import { connectPublisher, getJson, makeJpegs, PREFIX, startRelay, TestViewer } from './support.js';

const topics = new Topics(PREFIX);
let broker: TestBroker | undefined;
let relay: ServiceProcess | undefined;
let publisher: MqttClient | undefined;
let watcher: TestViewer | undefined;

after(async () => {
  await watcher?.close();
  await publisher?.endAsync();
  await relay?.stop();
  await broker?.stop();
});

test('a relay started before its broker reports 503, then subscribes and relays once the broker is up', async () => {
  const jpegs = await makeJpegs(3);
  // Learn a free port, then leave it empty: the relay starts against a broker that is not there.
  const probe = await TestBroker.start();
  const brokerPort = probe.port;
  await probe.stop();

  let baseUrl: string;
  ({ relay, baseUrl } = await startRelay(`mqtt://127.0.0.1:${brokerPort}`, 0, { waitForBroker: false }));
  const down = await getJson(`${baseUrl}/healthz`);
  assert.equal(down.status, 503);
  assert.equal((down.body as { mqtt: string }).mqtt, 'disconnected');

  broker = await TestBroker.start(brokerPort);
  await waitFor('healthz 200', async () => (await getJson(`${baseUrl}/healthz`)).status === 200);

  publisher = await connectPublisher(broker.url);
  watcher = await TestViewer.connect(baseUrl);
  await watcher.event('hello');
  // The SUBSCRIBE may still be on its way right after CONNACK; publish until a frame comes through.
  let seq = 0;
  await waitFor('a frame relayed after the broker came up', async () => {
    seq += 1;
    await publisher!.publishAsync(
      topics.frame('late'),
      Buffer.from(withFrameMeta(jpegs[seq % 3]!, { camera: 'late', seq, captureTime: Date.now() })),
    );
    return watcher!.frames.length > 0;
  });
  assert.equal(watcher.frames[0]!.camera, 'late');
  assert.ok((readFrameMeta(watcher.frames[0]!.payload)?.seq ?? 0) >= 1);
});
