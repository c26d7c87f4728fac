/**
 * The whole stack, as a user runs it: the bundled broker with TLS and provisioned accounts, the
 * publisher on the test pattern and on a video file, and the relay. Real MQTT.js and ws clients
 * receive what a camera sends; the broker refuses what its rules refuse.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import cv from '@u4/opencv4nodejs';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { Topics, decodeViewerFrame, readFrameMeta, type FrameMeta } from '@camqtt/wire';
import { startStack, type Stack } from '@camqtt/test-support';

const topics = new Topics('camqtt');

/** A short MJPG .avi made with OpenCV, as a user's recorded clip would be. */
function writeClip(path: string, frames: number): void {
  const writer = new cv.VideoWriter(path, cv.VideoWriter.fourcc('MJPG'), 15, new cv.Size(320, 240));
  for (let i = 0; i < frames; i += 1) {
    const frame = new cv.Mat(240, 320, cv.CV_8UC3, [(i * 10) % 255, 80, 160]);
    frame.drawRectangle(new cv.Point2(i * 12, 60), new cv.Point2(i * 12 + 40, 180), new cv.Vec3(255, 255, 255), -1);
    writer.write(frame);
  }
  writer.release();
}

interface ReceivedFrame {
  meta: FrameMeta;
  width: number;
  height: number;
}

function decodeFrame(payload: Uint8Array): ReceivedFrame {
  const meta = readFrameMeta(payload);
  assert.ok(meta, 'frame carries camqtt metadata');
  const image = cv.imdecode(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  return { meta, width: image.cols, height: image.rows };
}

/** Collects `count` frames of one camera from an MQTT subscription. */
async function mqttFrames(client: MqttClient, camera: string, count: number): Promise<ReceivedFrame[]> {
  const frames: ReceivedFrame[] = [];
  const topic = topics.frame(camera);
  await client.subscribeAsync(topic, { qos: 0 });
  await new Promise<void>((resolve) => {
    const onMessage = (received: string, payload: Buffer): void => {
      if (received !== topic) return;
      frames.push(decodeFrame(payload));
      if (frames.length === count) {
        client.off('message', onMessage);
        resolve();
      }
    };
    client.on('message', onMessage);
  });
  await client.unsubscribeAsync(topic);
  return frames;
}

function assertIncreasing(frames: ReceivedFrame[]): void {
  for (let i = 1; i < frames.length; i += 1) {
    assert.ok(
      frames[i]!.meta.seq > frames[i - 1]!.meta.seq,
      `sequence numbers increase (${frames[i - 1]!.meta.seq} then ${frames[i]!.meta.seq})`,
    );
  }
}

describe('the whole stack on loopback', () => {
  let stack: Stack;
  let workDir: string;
  const clients: MqttClient[] = [];

  async function connect(user: string, extra: mqtt.IClientOptions = {}): Promise<MqttClient> {
    const client = await mqtt.connectAsync(`mqtts://localhost:${stack.ports.mqtts}`, {
      ca: await import('node:fs/promises').then((fs) => fs.readFile(stack.caFile)),
      username: user,
      password: await stack.password(user),
      reconnectPeriod: 0,
      ...extra,
    });
    clients.push(client);
    return client;
  }

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'camqtt-clip-'));
    const clip = join(workDir, 'clip.avi');
    writeClip(clip, 20);
    stack = await startStack([
      { id: 'cam1', source: 'testsrc', env: { VIDEO_FPS: '15' } },
      { id: 'clip', source: clip, env: { VIDEO_WIDTH: '320', VIDEO_HEIGHT: '240', VIDEO_FPS: '15' } },
    ]);
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await stack?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  test('the relay and the publishers ask for MQTT 5 and get it from the bundled broker, and stay connected', async () => {
    // A status period after the first connect: a connection dropped and made again would show by then.
    const first = await stack.publishers[0]!.waitForLog((line) => line.msg === 'connected');
    await stack.publishers[0]!.waitForLog((line) => line.msg === 'pipeline stats' && Number(line.time) > Number(first.time) + 2000, 20_000);
    for (const service of [stack.web, ...stack.publishers]) {
      const connects = service.lines.filter((line) => /^connected/.test(String(line.msg)));
      assert.deepEqual(
        connects.map((line) => line.protocolVersion),
        [5],
        `${service.name} connected once, with MQTT 5`,
      );
      const fallbacks = service.lines.filter((line) => line.msg === 'the broker does not speak MQTT 5: using MQTT 3.1.1');
      assert.deepEqual(fallbacks, [], `${service.name} did not fall back`);
      assert.equal(
        service.lines.some((line) => Number(line.level) >= 40 && /MQTT|mqtt/.test(String(line.msg))),
        false,
        `${service.name} warned about nothing MQTT`,
      );
    }
  });

  test('over MQTT 5 each control command sent through the relay gets its own answer from the camera', async () => {
    const base = `http://127.0.0.1:${stack.ports.web}`;
    const send = async (
      command: object,
    ): Promise<{ status: number; body: { answer?: { id?: string; ok: boolean; changed?: Record<string, unknown> } } }> => {
      const response = await fetch(`${base}/api/cameras/cam1/control`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: base },
        body: JSON.stringify(command),
      });
      return {
        status: response.status,
        body: (await response.json()) as { answer?: { id?: string; ok: boolean; changed?: Record<string, unknown> } },
      };
    };
    // At once: answers in the status would overwrite each other; these come back each to its sender.
    const [fps, quality] = await Promise.all([send({ fps: 12, id: 'fps-12' }), send({ quality: 33, id: 'quality-33' })]);
    assert.equal(fps.status, 200);
    assert.deepEqual([fps.body.answer?.id, fps.body.answer?.ok, fps.body.answer?.changed], ['fps-12', true, { fps: 12 }]);
    assert.equal(quality.status, 200);
    assert.deepEqual([quality.body.answer?.id, quality.body.answer?.changed], ['quality-33', { quality: 33 }]);
    const refused = await send({ id: 'nothing' });
    assert.equal(refused.status, 400, 'the relay refuses an empty command itself');
    await send({ fps: 15, quality: 60, id: 'back' });
  });

  test('an MQTT subscriber gets decodable test-pattern JPEGs with increasing sequence numbers', async () => {
    const relay = await connect('relay');
    const frames = await mqttFrames(relay, 'cam1', 10);
    assert.equal(frames[0]!.meta.camera, 'cam1');
    assert.deepEqual([frames[0]!.width, frames[0]!.height], [640, 480]);
    assertIncreasing(frames);
    assert.ok(Math.abs(Date.now() - frames.at(-1)!.meta.captureTime) < 60_000, 'capture time is wall-clock time');
  });

  test('frames from a video file flow the same way, past the end of the clip', async () => {
    const relay = await connect('relay');
    const frames = await mqttFrames(relay, 'clip', 30);
    assert.deepEqual([frames[0]!.width, frames[0]!.height], [320, 240]);
    assertIncreasing(frames);
  });

  test('a browser-side ws client gets the same JPEGs through the relay', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${stack.ports.web}/ws`);
    const frames: ReceivedFrame[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (data, isBinary) => {
        if (!isBinary) return;
        const frame = decodeViewerFrame(new Uint8Array(data as Buffer));
        assert.ok(frame, 'binary message is a viewer frame');
        if (frame.camera !== 'cam1') return;
        frames.push(decodeFrame(frame.payload));
        if (frames.length === 10) resolve();
      });
    });
    ws.close();
    assert.deepEqual([frames[0]!.width, frames[0]!.height], [640, 480]);
    assertIncreasing(frames);
  });

  test('a wrong password is refused and the broker keeps serving', async () => {
    await assert.rejects(
      mqtt.connectAsync(`mqtt://127.0.0.1:${stack.ports.mqtt}`, { username: 'cam1', password: 'not-the-password', reconnectPeriod: 0 }),
      /bad user ?name or password|not authorized/i,
    );
    const relay = await connect('relay');
    assert.equal((await mqttFrames(relay, 'cam1', 2)).length, 2);
  });

  test('the relay account cannot publish frames, and a camera cannot publish as another camera', async () => {
    const admin = await connect('admin');
    const seen: string[] = [];
    admin.on('message', (topic, payload) => {
      if (payload.toString() === 'forged') seen.push(topic);
    });
    await admin.subscribeAsync([topics.frame('cam1'), topics.frame('clip')]);
    const relay = await connect('relay');
    const cam1 = await connect('cam1', { clientId: 'cam1-intruder' });
    // The broker may drop a refused publish or close the connection; either way nothing arrives.
    await relay.publishAsync(topics.frame('cam1'), 'forged').catch(() => undefined);
    await cam1.publishAsync(topics.frame('clip'), 'forged').catch(() => undefined);
    // A message the camera may send, sent after the forged ones, gives them time to arrive.
    const marker = new Promise<void>((resolve) => admin.on('message', (_topic, payload) => payload.toString() === 'marker' && resolve()));
    const honest = await connect('cam1', { clientId: 'cam1-honest' });
    await honest.publishAsync(topics.frame('cam1'), 'marker');
    await marker;
    assert.deepEqual(seen, []);
  });
});
