/**
 * Many viewers of one camera: 50 WebSocket viewers and one that never reads, while a camera
 * publishes 640x480 frames at 30 fps. Every live viewer must get every frame, in order, with no
 * sequence gap: the frozen viewer costs only itself. Counts, not timings.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { readFrameMeta } from '@camqtt/wire';
import { waitFor } from '@camqtt/test-support';
import { FakeCamera, getJson, makeJpegs, TestViewer, startRelayUnderTest, type RelayUnderTest } from './support.js';

const VIEWERS = 50;
const FRAMES = 150;
let stack: RelayUnderTest | undefined;
let port: number;
let baseUrl: string;
let publisher: MqttClient;
let frozen: Socket | undefined;
const viewers: TestViewer[] = [];

before(async () => {
  stack = await startRelayUnderTest();
  ({ port, baseUrl, publisher } = stack);
});

after(async () => {
  frozen?.destroy();
  await Promise.all(viewers.map((viewer) => viewer.close()));
  await stack?.stop();
});

test(`${VIEWERS} viewers each get all ${FRAMES} frames of a 30 fps camera with no sequence gap, next to a frozen viewer`, async () => {
  const camera = new FakeCamera(publisher, 'cam1', await makeJpegs(30, '640x480', 4), 1000 / 30);
  frozen = connect(port, '127.0.0.1');
  await once(frozen, 'connect');
  frozen.write(
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  frozen.pause();
  viewers.push(...(await Promise.all(Array.from({ length: VIEWERS }, () => TestViewer.connect(baseUrl)))));
  await Promise.all(viewers.map((viewer) => viewer.event('hello')));
  await waitFor(
    'every viewer at the relay',
    async () => ((await getJson(`${baseUrl}/healthz`)).body as { viewers: number }).viewers === VIEWERS + 1,
  );

  camera.start();
  try {
    await waitFor(
      'the frames at every viewer',
      () => camera.seq >= FRAMES && viewers.every((viewer) => viewer.frames.length >= FRAMES),
      30_000,
    );
  } finally {
    camera.stop();
  }
  for (const [index, viewer] of viewers.entries()) {
    const seqs = viewer.frames.map((frame) => readFrameMeta(frame.payload)?.seq ?? NaN);
    const gaps = seqs.filter((seq, i) => i > 0 && seq !== seqs[i - 1]! + 1).length;
    assert.equal(gaps, 0, `viewer ${index}: no gaps in ${seqs.length} frames (first ${seqs[0]}, last ${seqs.at(-1)})`);
    assert.equal(seqs[0], 1, `viewer ${index} starts at the first frame`);
  }
});
