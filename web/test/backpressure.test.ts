import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { readFrameMeta, Topics, withFrameMeta } from '@camqtt/wire';
import { waitFor } from '@camqtt/test-support';
import { getJson, makeJpegs, metric, PREFIX, TestViewer, startRelayUnderTest, type RelayUnderTest } from './support.js';

const topics = new Topics(PREFIX);
let stack: RelayUnderTest | undefined;
let port: number;
let baseUrl: string;
let publisher: MqttClient;
let frozen: Socket | undefined;
let live: TestViewer | undefined;

/** The frozen viewer is cut off after this (10 s outside tests). */
const STALL_LIMIT_MS = 2000;

before(async () => {
  stack = await startRelayUnderTest({ CAMQTT_TEST_STALL_LIMIT_MS: String(STALL_LIMIT_MS) });
  ({ port, baseUrl, publisher } = stack);
});

after(async () => {
  frozen?.destroy();
  await live?.close();
  await stack?.stop();
});

/**
 * A viewer that completes the WebSocket handshake and then never reads a byte: the kernel buffers
 * fill and the relay's writes to it stop completing, like a phone on a dead network.
 */
async function frozenViewer(): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    [
      'GET /ws HTTP/1.1',
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      '',
      '',
    ].join('\r\n'),
  );
  socket.pause();
  return socket;
}

test('a viewer that never reads does not stop a live viewer from getting every new frame, and is cut off', async () => {
  // Big frames (1280x720 at high quality) fill the frozen socket's kernel buffers quickly.
  const jpegs = await makeJpegs(10, '1280x720', 2);
  frozen = await frozenViewer();
  live = await TestViewer.connect(baseUrl);
  await live.event('hello');
  await waitFor('both viewers at the relay', async () => ((await getJson(`${baseUrl}/healthz`)).body as { viewers: number }).viewers === 2);

  // Lockstep: the next frame goes out only once the live viewer has the previous one, so if the
  // frozen viewer held anything up, this loop would stall and time out.
  const published: number[] = [];
  let seq = 0;
  const publishOne = async (): Promise<void> => {
    seq += 1;
    const before = live!.frames.length;
    await publisher.publishAsync(
      topics.frame('cam1'),
      Buffer.from(withFrameMeta(jpegs[seq % jpegs.length]!, { camera: 'cam1', seq, captureTime: Date.now() })),
    );
    published.push(seq);
    await waitFor(`frame ${seq} at the live viewer`, () => live!.frames.length > before);
  };
  // Keep going until the relay has actually dropped frames for the frozen viewer (its socket is
  // full), then some more.
  while ((await metric(baseUrl, 'camqtt_web_frames_dropped_total', { reason: 'replaced' })) < 5) await publishOne();
  for (let i = 0; i < 20; i += 1) await publishOne();

  const received = live.frames.map((frame) => readFrameMeta(frame.payload)?.seq);
  assert.deepEqual(received, published);

  // The frozen viewer's writes make no progress: after the stall limit the relay terminates it.
  const keepPublishing = setInterval(() => {
    seq += 1;
    void publisher.publishAsync(
      topics.frame('cam1'),
      Buffer.from(withFrameMeta(jpegs[seq % jpegs.length]!, { camera: 'cam1', seq, captureTime: Date.now() })),
    );
  }, 200);
  try {
    await waitFor(
      'the frozen viewer terminated',
      async () => (await metric(baseUrl, 'camqtt_web_viewers_terminated_total', { transport: 'ws' })) === 1,
    );
  } finally {
    clearInterval(keepPublishing);
  }
  await waitFor(
    'the relay to count one viewer',
    async () => ((await getJson(`${baseUrl}/healthz`)).body as { viewers: number }).viewers === 1,
  );
  assert.equal(live.socket.readyState, live.socket.OPEN);
});
