/**
 * The publisher on a V4L2 camera at /dev/video0, with the real OpenCV, where there is no camera:
 * the camera is emulated in user space by an LD_PRELOAD library (v4l2-emulator/, see
 * v4l2-camera.ts) that answers OpenCV's open/ioctl/mmap like a uvcvideo webcam. What it cannot
 * show (the kernel's own behaviour) is listed in the README's testing section.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import cv from '@u4/opencv4nodejs';
import { readJpegInfo } from '@camqtt/wire';
import { PublisherTestBed, type ReceivedFrame } from './support.js';
import { type CameraOptions, EMULATED_DEVICE, EmulatedCamera, buildEmulator, withoutComments } from './v4l2-camera.js';

/** How soon frames must resume after the camera is plugged in again (the limit). */
const REPLUG_RESUME_MS = 3000;
/** How soon SIGTERM must end the publisher while a read is stuck in the driver. */
const STOP_MS = 2000;

describe('a V4L2 camera at /dev/video0 (emulated)', () => {
  const bed = new PublisherTestBed();
  const cameras: EmulatedCamera[] = [];
  let library = '';

  before(async () => {
    library = buildEmulator();
    await bed.start();
  });

  after(async () => {
    await bed.stop();
    for (const camera of cameras) camera.remove();
  });

  const emulated = (options: CameraOptions): EmulatedCamera => {
    const camera = new EmulatedCamera(library, options);
    cameras.push(camera);
    return camera;
  };
  const publish = (id: string, camera: EmulatedCamera, env: Record<string, string>) =>
    bed.camera(id, { CAMERA_SOURCE: EMULATED_DEVICE, ...camera.env(), ...env });

  /** Which served JPEG a published frame is, by its bytes without the publisher's comment. */
  const servedIndex = (camera: EmulatedCamera, size: string, frame: ReceivedFrame): number =>
    camera.jpegs.get(size)!.findIndex((jpeg) => jpeg.equals(withoutComments(frame.payload)));

  test('MJPG is asked for and chosen at the configured size and fps, and its JPEGs are published byte for byte', async () => {
    // The library's default: a 720p webcam with MJPG up to 1280x720@30 but YUYV 1280x720 at 10 fps only.
    const camera = emulated({ jpegSizes: ['1280x720'] });
    const { subscriber } = await publish('v4l2mjpg', camera, { VIDEO_WIDTH: '1280', VIDEO_HEIGHT: '720', VIDEO_FPS: '15' });
    const status = await subscriber.status((s) => s.sourceFormat !== undefined && s.passthrough === true);
    assert.deepEqual([status.sourceFormat, status.sourceWidth, status.sourceHeight, status.sourceFps], ['MJPG', 1280, 720, 15]);
    const frames = await subscriber.collectFrames(10);
    for (const frame of frames) {
      assert.ok(servedIndex(camera, '1280x720', frame) >= 0, "a published frame is one of the camera's JPEGs, byte for byte");
      assert.deepEqual(readJpegInfo(frame.payload), { width: 1280, height: 720, hasHuffmanTables: true });
    }
    // What the driver was told last before streaming.
    const events = camera.events();
    const streamOn = events.findIndex((e) => e.event === 'streamon');
    const settled = events
      .slice(0, streamOn)
      .filter((e) => e.event === 'format')
      .at(-1);
    assert.deepEqual([settled?.fourcc, settled?.width, settled?.height, events[streamOn]?.fps], ['MJPG', 1280, 720, 15]);
  });

  test('a camera that cannot give what was asked: the status shows the size and fps it settled on', async () => {
    const camera = emulated({ formats: 'MJPG 640x480@15,5; YUYV 640x480@15,5 320x240@30', jpegSizes: ['640x480'] });
    const { subscriber } = await publish('v4l2settle', camera, { VIDEO_WIDTH: '1280', VIDEO_HEIGHT: '720', VIDEO_FPS: '30' });
    const status = await subscriber
      .status((s) => s.sourceFormat !== undefined && (s.warnings ?? []).length > 0)
      .catch((error: unknown) => {
        throw new Error(`${String(error)}; the last status: ${JSON.stringify(subscriber.statuses.at(-1))}`);
      });
    assert.deepEqual(
      [status.sourceFormat, status.sourceWidth, status.sourceHeight, status.sourceFps, status.targetFps],
      ['MJPG', 640, 480, 15, 30],
    );
    // Never scaled up: the camera's 640x480, cut to the 16:9 asked for.
    assert.ok(
      status.warnings?.some((w) => w.includes('the source delivers 640x480, so frames are 640x360')),
      JSON.stringify(status.warnings),
    );
    const frame = await subscriber.nextFrame();
    assert.deepEqual(readJpegInfo(frame.payload), { width: 640, height: 360, hasHuffmanTables: true });
  });

  test('a camera that refuses MJPG: YUYV is converted and encoded', async () => {
    const camera = emulated({ formats: 'YUYV 640x480@30,15 320x240@30' });
    const { subscriber } = await publish('v4l2yuyv', camera, { VIDEO_WIDTH: '640', VIDEO_HEIGHT: '480', VIDEO_FPS: '15' });
    const status = await subscriber.status((s) => s.sourceFormat !== undefined);
    assert.deepEqual(
      [status.sourceFormat, status.sourceWidth, status.sourceHeight, status.sourceFps, status.passthrough],
      ['YUYV', 640, 480, 15, false],
    );
    const frames = await subscriber.collectFrames(3);
    const image = cv.imdecode(frames[0]!.payload);
    assert.deepEqual([image.cols, image.rows], [640, 480]);
    // The emulator's YUYV: a red band on top (a U/V mix-up would show blue), grey below.
    const near = (pixel: number[], bgr: number[]) => pixel.length === 3 && pixel.every((value, i) => Math.abs(value - bgr[i]!) <= 40);
    const pixel = (row: number, col: number): number[] => image.atRaw(row, col) as unknown as number[];
    assert.ok(near(pixel(40, 320), [0, 0, 255]), `top band is red: ${JSON.stringify(pixel(40, 320))}`);
    assert.ok(near(pixel(400, 600), [130, 130, 130]), `lower part is grey: ${JSON.stringify(pixel(400, 600))}`);
    // Each frame carries its own sequence number, drawn by the emulator.
    assert.notDeepEqual(frames[0]!.payload.subarray(400), frames[2]!.payload.subarray(400));
  });

  test("the driver's buffer timestamps become the capture times, even when buffers arrive late", async () => {
    const delayMs = 250;
    const camera = emulated({ formats: 'MJPG 640x480@15', jpegSizes: ['640x480'], delayMs });
    const { subscriber } = await publish('v4l2stamp', camera, { VIDEO_WIDTH: '640', VIDEO_HEIGHT: '480', VIDEO_FPS: '15' });
    const frames = await subscriber.collectFrames(8);
    const served = camera.events().filter((e) => e.event === 'frame');
    for (const frame of frames) {
      const index = servedIndex(camera, '640x480', frame);
      assert.ok(index >= 0 && frame.meta);
      const captureTime = frame.meta.captureTime;
      // The buffer this frame came in: same picture, stamped nearest to the capture time.
      const candidates = served.filter((e) => Number(e.sequence) % camera.jpegs.get('640x480')!.length === index);
      const buffer = candidates.reduce((a, b) =>
        Math.abs(Number(a.realUs) / 1000 - captureTime) <= Math.abs(Number(b.realUs) / 1000 - captureTime) ? a : b,
      );
      const stampedMs = Number(buffer.realUs) / 1000;
      const deliveredMs = Number(buffer.deliveredRealUs) / 1000;
      assert.ok(Math.abs(captureTime - stampedMs) < 10, `capture time ${captureTime} is the buffer's timestamp ${stampedMs}`);
      assert.ok(deliveredMs - captureTime >= delayMs - 10, `and not when it was delivered (${deliveredMs})`);
    }
  });

  test('unplugged: the status says so; plugged in again, frames resume within 3 s without a restart', async () => {
    const camera = emulated({ formats: 'MJPG 640x480@15', jpegSizes: ['640x480'] });
    const { publisher, subscriber } = await publish('v4l2plug', camera, { VIDEO_WIDTH: '640', VIDEO_HEIGHT: '480', VIDEO_FPS: '15' });
    await subscriber.nextFrame();
    camera.unplug();
    // The read in progress fails (DQBUF: ENODEV), then the node is gone at the retry.
    const readFailed = await publisher.waitForLog((line) => line.msg === 'source failed');
    assert.match(String(readFailed.error), /camera \/dev\/video0/);
    const gone = await subscriber.status((s) => /no such camera device: \/dev\/video0/.test(s.error ?? ''));
    assert.equal(gone.online, true);
    await camera.event((e) => e.event === 'unplugged');

    camera.replug();
    const pluggedAt = Date.now();
    const resumed = await subscriber.nextFrame();
    const resumeMs = resumed.receivedAt - pluggedAt;
    assert.ok(resumeMs <= REPLUG_RESUME_MS, `frames resumed ${resumeMs} ms after the camera came back`);
    assert.ok(servedIndex(camera, '640x480', resumed) >= 0);
    const healthy = await subscriber.nextStatus((s) => s.error === undefined && s.sourceFormat === 'MJPG');
    assert.equal(healthy.online, true);
    assert.equal(publisher.exitCode, null);
    // One capture helper opened the camera before and after: nothing was restarted.
    const openers = new Set(
      camera
        .events()
        .filter((e) => e.event === 'open')
        .map((e) => e.pid),
    );
    assert.equal(openers.size, 1);
    console.log(`# V4L2 replug -> first frame: ${resumeMs} ms`);
  });

  test('a camera busy in another program: the status says so, and frames come once it is free', async () => {
    const camera = emulated({ formats: 'MJPG 640x480@15', jpegSizes: ['640x480'] });
    camera.setFault('busy');
    const { subscriber } = await publish('v4l2busy', camera, { VIDEO_WIDTH: '640', VIDEO_HEIGHT: '480', VIDEO_FPS: '15' });
    const busy = await subscriber.status((s) => /cannot open camera \/dev\/video0/.test(s.error ?? ''));
    assert.equal(busy.framesSent, 0);
    camera.clearFault('busy');
    const frame = await subscriber.nextFrame();
    assert.ok(servedIndex(camera, '640x480', frame) >= 0);
  });

  test('SIGTERM while a read is stuck in the driver: the publisher exits within 2 s', async () => {
    const camera = emulated({ formats: 'MJPG 640x480@15', jpegSizes: ['640x480'] });
    const { publisher, subscriber } = await publish('v4l2stuck', camera, { VIDEO_WIDTH: '640', VIDEO_HEIGHT: '480', VIDEO_FPS: '15' });
    await subscriber.nextFrame();
    camera.setFault('stalled');
    // DQBUF said EAGAIN with no frame coming: the capture helper now waits in select() (10 s in OpenCV).
    await camera.event((e) => e.event === 'waiting-stalled');
    const stopStart = performance.now();
    const code = await publisher.stop();
    const stopMs = Math.round(performance.now() - stopStart);
    assert.equal(code, 0);
    assert.ok(stopMs <= STOP_MS, `exited ${stopMs} ms after SIGTERM`);
    console.log(`# V4L2 read stuck: SIGTERM -> exit ${stopMs} ms`);
  });
});
