/**
 * The built publisher with CAMERA_SOURCE=testsrc against a real (in-process Aedes) broker:
 * frames, status, control commands and a clean SIGTERM.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import cv from '@u4/opencv4nodejs';
import { checkJpeg } from '@camqtt/wire';
import { ServiceProcess, TestBroker } from '@camqtt/test-support';
import { TestSubscriber, WAIT_MS, publisherEnv } from './support.js';

const CAMERA = 'testcam';

describe('publisher with the built-in test pattern', () => {
  const broker = new TestBroker();
  let publisher: ServiceProcess;
  let subscriber: TestSubscriber;

  before(async () => {
    await broker.start();
    subscriber = await TestSubscriber.connect(broker.url, CAMERA);
    publisher = ServiceProcess.start(
      'publisher',
      publisherEnv(broker.url, {
        CAMERA_ID: CAMERA,
        CAMERA_SOURCE: 'testsrc',
        VIDEO_WIDTH: '640',
        VIDEO_HEIGHT: '480',
        VIDEO_FPS: '15',
        JPEG_QUALITY: '70',
      }),
    );
    await subscriber.status((s) => s.online, WAIT_MS);
  });

  after(async () => {
    await publisher.stop();
    await subscriber.close();
    await broker.stop();
  });

  test('the status names the opened source with its size and rate', async () => {
    const opened = await subscriber.status((s) => s.sourceWidth !== undefined);
    assert.equal(opened.source, 'testsrc');
    assert.deepEqual([opened.sourceWidth, opened.sourceHeight, opened.sourceFps], [640, 480, 15]);
  });

  test('frames are JPEGs of the configured size carrying camera id, increasing seq and capture time', async () => {
    const frames = await subscriber.collectFrames(10);
    let previousSeq = 0;
    for (const frame of frames) {
      assert.deepEqual(checkJpeg(frame.payload), { ok: true });
      const image = cv.imdecode(frame.payload);
      assert.equal(image.cols, 640);
      assert.equal(image.rows, 480);
      assert.equal(image.channels, 3);
      assert.ok(frame.meta, 'frame has camqtt metadata');
      assert.equal(frame.meta.camera, CAMERA);
      assert.ok(frame.meta.seq > previousSeq, `seq ${frame.meta.seq} follows ${previousSeq}`);
      previousSeq = frame.meta.seq;
      // Same machine, same clock: grabbed at most a few seconds before it arrived, never after.
      assert.ok(frame.meta.captureTime <= frame.receivedAt + 1, 'captured before received');
      assert.ok(frame.receivedAt - frame.meta.captureTime < 5000, 'captured recently');
    }
  });

  test('the retained status says online, with the configured fields and counters', async () => {
    const late = await TestSubscriber.connect(broker.url, CAMERA);
    try {
      const retained = await late.status(() => true);
      assert.equal(retained.camera, CAMERA);
      assert.equal(retained.online, true);
      assert.equal(retained.source, 'testsrc');
      assert.equal(retained.width, 640);
      assert.equal(retained.height, 480);
      assert.equal(retained.targetFps, 15);
      assert.equal(retained.quality, 70);
      assert.equal(typeof retained.framesSent, 'number');
      assert.equal(typeof retained.framesDropped, 'number');
      assert.equal(retained.error, undefined);
      const measured = await late.status((s) => (s.fps ?? 0) > 0 && (s.framesSent ?? 0) > 0 && (s.bytesPerSecond ?? 0) > 0);
      assert.ok((measured.fps ?? 0) <= 15 * 1.5, `measured fps ${measured.fps} is about the target or below`);
      assert.deepEqual(late.invalidStatuses, []);
    } finally {
      await late.close();
    }
  });

  test('a control message changes the frame size from the next frames on', async () => {
    await subscriber.control({ width: 320, height: 240 });
    await subscriber.nextFrame((frame) => cv.imdecode(frame.payload).cols === 320);
    const frames = await subscriber.collectFrames(5);
    for (const frame of frames) {
      const image = cv.imdecode(frame.payload);
      assert.equal(image.cols, 320);
      assert.equal(image.rows, 240);
    }
    await subscriber.status((s) => s.width === 320 && s.height === 240);
  });

  test('invalid commands are refused in the status and change nothing; the process stays up and takes the next valid one', async () => {
    /** Sends `command` and waits for the status refusing it (matched by `error`, and its id if it has one). */
    const refused = async (command: unknown, error: RegExp): Promise<void> => {
      await subscriber.control(command);
      const id = typeof command === 'object' && command !== null && 'id' in command ? command.id : undefined;
      const answer = await subscriber.status(
        (s) => s.lastCommand?.ok === false && s.lastCommand.id === id && error.test(s.lastCommand.error ?? ''),
      );
      assert.equal(answer.quality, 70, 'nothing changed');
    };
    await refused('not json', /^not JSON$/);
    await refused({ fps: 'fast', id: 'fast' }, /^fps must be a whole number/);
    await refused({ fps: 500, id: 'too-fast' }, /^fps must be a whole number from 1 to 120$/);
    await refused({ zoom: 2, id: 'zoom' }, /^unknown key "zoom"/);
    await refused([1, 2], /^not a JSON object$/);
    await subscriber.control({ quality: 35 });
    await subscriber.status((s) => s.quality === 35);
    assert.equal(publisher.exitCode, null);
    await subscriber.collectFrames(3);
  });

  test('{"paused":true} stops the frames and {"paused":false} resumes them', async () => {
    await subscriber.control({ paused: true });
    // A status period with no frame sent reports fps 0; the next period must not add any frame.
    const quiet = await subscriber.nextStatus((s) => s.fps === 0);
    const framesAtQuiet = subscriber.frames.length;
    const later = await subscriber.nextStatus();
    assert.equal(later.framesSent, quiet.framesSent);
    assert.equal(subscriber.frames.length, framesAtQuiet, 'no frames while paused');

    await subscriber.control({ paused: false });
    const resumed = await subscriber.nextFrame();
    assert.ok(resumed.meta);
    assert.ok(resumed.meta.captureTime > (later.updatedAt ?? 0), 'a fresh frame, not one held back');
  });

  test('SIGTERM: exit code 0 and the retained status becomes offline', async () => {
    const code = await publisher.stop();
    assert.equal(code, 0);
    const late = await TestSubscriber.connect(broker.url, CAMERA);
    try {
      const retained = await late.status(() => true);
      assert.deepEqual(retained, { camera: CAMERA, online: false });
    } finally {
      await late.close();
    }
  });
});
