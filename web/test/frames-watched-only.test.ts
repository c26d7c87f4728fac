/**
 * WEB_FRAMES_WATCHED_ONLY: the relay takes from the broker only the frames of the cameras its
 * viewers watch (a WebSocket viewer's selection, an MJPEG stream), and lets go of a camera when its
 * last viewer leaves. Two fake cameras publish all along; the relay's own received-frames counter
 * shows which ones reach it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '@camqtt/test-support';
import { FakeCamera, PREFIX, TestViewer, makeJpegs, metric, startRelayUnderTest, type RelayUnderTest } from './support.js';

let stack: RelayUnderTest | undefined;
const cameras: FakeCamera[] = [];

const received = async (camera: string): Promise<number> => await metric(stack!.baseUrl, 'camqtt_web_frames_received_total', { camera });

/** Frames of `camera` the relay receives over a few more of the cameras' frames. */
async function receivedMeanwhile(camera: string): Promise<number> {
  const before = await received(camera);
  const watched = cameras[0]!;
  // Counted across the same span as 5 more frames of a camera that is being sent anyway.
  const until = watched.seq + 5;
  await waitFor('5 more frames published', () => watched.seq >= until);
  return (await received(camera)) - before;
}

before(async () => {
  const jpegs = await makeJpegs(6);
  stack = await startRelayUnderTest({ WEB_FRAMES_WATCHED_ONLY: 'true' });
  for (const id of ['camA', 'camB']) {
    // The relay knows a camera by its retained status (it has no frame of an unwatched one).
    await stack.publisher.publishAsync(`${PREFIX}/${id}/status`, JSON.stringify({ camera: id, online: true }), { qos: 1, retain: true });
    const camera = new FakeCamera(stack.publisher, id, jpegs, 40);
    camera.start();
    cameras.push(camera);
  }
});

after(async () => {
  for (const camera of cameras) camera.stop();
  await stack?.stop();
});

test('with no viewer, no camera’s frames reach the relay', async () => {
  assert.equal(await receivedMeanwhile('camA'), 0);
  assert.equal(await receivedMeanwhile('camB'), 0);
});

test('a viewer selecting camA gets camA’s frames; camB’s still do not reach the relay', async () => {
  const viewer = await TestViewer.connect(stack!.baseUrl);
  try {
    await viewer.event('hello');
    viewer.socket.send(JSON.stringify({ type: 'select', cameras: ['camA'] }));
    await waitFor('camA frames at the viewer', () => viewer.frames.filter((f) => f.camera === 'camA').length >= 5);
    assert.ok((await receivedMeanwhile('camA')) > 0, 'camA keeps arriving');
    assert.equal(await receivedMeanwhile('camB'), 0, 'camB is not taken');
  } finally {
    await viewer.close();
  }
  await waitFor('the relay to let go of camA', async () => (await receivedMeanwhile('camA')) === 0);
  const snapshot = await fetch(`${stack!.baseUrl}/api/cameras/camA/snapshot.jpg`);
  await snapshot.body?.cancel();
  assert.equal(snapshot.status, 404, 'no old picture of a camera nobody watches here');
});

test('an MJPEG stream of camB takes camB’s frames while it is open', async () => {
  const controller = new AbortController();
  const response = await fetch(`${stack!.baseUrl}/api/cameras/camB/stream.mjpg`, { signal: controller.signal });
  assert.equal(response.status, 200);
  const reader = response.body!.getReader();
  let bytes = 0;
  await waitFor('camB parts on the stream', async () => {
    const chunk = await reader.read();
    bytes += chunk.value?.length ?? 0;
    return bytes > 20_000;
  });
  assert.ok((await receivedMeanwhile('camB')) > 0, 'camB arrives while streamed');
  controller.abort();
  await reader.cancel().catch(() => {});
  await waitFor('the relay to let go of camB', async () => (await receivedMeanwhile('camB')) === 0);
});
