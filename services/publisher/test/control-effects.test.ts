/**
 * What fps, quality and size commands do to the frames a subscriber receives, with the built
 * publisher (CAMERA_SOURCE=testsrc) and a real broker: the rate follows {"fps":5} and back,
 * {"quality":20} / {"quality":90} shrink and grow the JPEGs (which still decode), and once a
 * command's answer is on the status topic at most two frames with the old setting follow (the
 * frame being encoded when the command came and the one waiting at the gate).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import cv from '@u4/opencv4nodejs';
import type { CameraStatus } from '@camqtt/wire';
import { ServiceProcess, TestBroker } from '@camqtt/test-support';
import { type ReceivedFrame, TestSubscriber, WAIT_MS, publisherEnv } from './support.js';

const CAMERA = 'effectcam';
/** Frames with the old setting a subscriber may still see after the command's answer. */
const MAX_OLD_AFTER_ANSWER = 2;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('control commands, as seen in the frames', () => {
  const broker = new TestBroker();
  let publisher: ServiceProcess;
  let subscriber: TestSubscriber;
  let commands = 0;

  /** Sends a command with a fresh id; resolves with its answer and where the frame list stood then. */
  const command = async (body: Record<string, unknown>): Promise<{ answer: CameraStatus; framesAtAnswer: number }> => {
    const id = `effect-${++commands}`;
    await subscriber.control({ ...body, id });
    const answer = await subscriber.status((s) => s.lastCommand?.id === id);
    // Messages are handled one at a time, so the frame list is exactly as it was when the answer came.
    const framesAtAnswer = subscriber.frames.length;
    assert.equal(answer.lastCommand?.ok, true, JSON.stringify(answer.lastCommand));
    return { answer, framesAtAnswer };
  };

  /** Frames received in `ms` from now. */
  const framesOver = async (ms: number): Promise<ReceivedFrame[]> => {
    const start = subscriber.frames.length;
    await sleep(ms);
    return subscriber.frames.slice(start);
  };

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
        VIDEO_FPS: '30',
        JPEG_QUALITY: '70',
      }),
    );
    await subscriber.collectFrames(5, WAIT_MS);
  });

  after(async () => {
    await publisher.stop();
    await subscriber.close();
    await broker.stop();
  });

  test('{"fps":5} slows the frames to about 5 per second, {"fps":30} restores the rate', async (t) => {
    const initial = await framesOver(2000);

    const slow = await command({ fps: 5 });
    assert.equal(slow.answer.targetFps, 5);
    assert.deepEqual(slow.answer.lastCommand?.changed, { fps: 5 });
    // The frame due under the old rate may still come; count from the next one on.
    await subscriber.nextFrame();
    const atFive = await framesOver(2000);
    assert.ok(atFive.length >= 6 && atFive.length <= 14, `${atFive.length} frames in 2 s at fps 5`);
    const gaps = atFive.slice(1).map((frame, i) => frame.meta!.captureTime - atFive[i]!.meta!.captureTime);
    assert.ok(median(gaps) >= 150, `median capture interval ${median(gaps)} ms at fps 5`);
    // A whole status period at the new rate measures about 5.
    const measured = await subscriber.nextStatus((s) => s.updatedAt! > slow.answer.updatedAt! + 1500 && s.targetFps === 5);
    assert.ok((measured.fps ?? 0) >= 3 && (measured.fps ?? 0) <= 7, `status fps ${measured.fps} at fps 5`);

    const fast = await command({ fps: 30 });
    assert.equal(fast.answer.targetFps, 30);
    await subscriber.nextFrame();
    const restored = await framesOver(2000);
    t.diagnostic(
      `frames in 2 s: ${initial.length} at 30 fps, ${atFive.length} at 5 fps (median capture interval ${Math.round(median(gaps))} ms, status fps ${measured.fps}), ${restored.length} back at 30 fps`,
    );
    assert.ok(initial.length >= 30 && initial.length <= 70, `${initial.length} frames in 2 s at fps 30`);
    assert.ok(
      restored.length >= Math.min(30, 0.7 * initial.length) && restored.length <= 70,
      `${restored.length} frames in 2 s back at fps 30 (${initial.length} before)`,
    );
  });

  test('{"quality":20} makes the frames clearly smaller and {"quality":90} clearly larger; all still decode', async (t) => {
    const sizesAt = async (quality: number): Promise<{ median: number; frames: ReceivedFrame[] }> => {
      const { answer } = await command({ quality });
      assert.equal(answer.quality, quality);
      await subscriber.collectFrames(2);
      const frames = await subscriber.collectFrames(10);
      return { median: median(frames.map((f) => f.payload.length)), frames };
    };
    const q70 = median((await subscriber.collectFrames(10)).map((f) => f.payload.length));
    const q20 = await sizesAt(20);
    const q90 = await sizesAt(90);
    t.diagnostic(`median JPEG payload at 640x480: quality 20 ${q20.median} B, 70 ${q70} B, 90 ${q90.median} B`);
    // The pattern is mostly flat colour, so the sizes differ less than a camera picture's would.
    assert.ok(q20.median < 0.8 * q70, `quality 20: ${q20.median} B vs 70: ${q70} B`);
    assert.ok(q90.median > 1.2 * q70, `quality 90: ${q90.median} B vs 70: ${q70} B`);
    assert.ok(q90.median > 2 * q20.median, `quality 90: ${q90.median} B vs 20: ${q20.median} B`);
    for (const frame of [...q20.frames, ...q90.frames]) {
      const image = cv.imdecode(frame.payload);
      assert.deepEqual([image.cols, image.rows, image.channels], [640, 480, 3]);
      assert.equal(frame.meta?.camera, CAMERA);
    }
  });

  test('after a command is answered on the status topic, at most two frames with the old setting arrive', async (t) => {
    // Quality, told apart by payload size: the sizes of the two qualities are far apart.
    const low = median((await command({ quality: 15 }), await subscriber.collectFrames(8)).map((f) => f.payload.length));
    const high = median((await command({ quality: 95 }), await subscriber.collectFrames(8)).map((f) => f.payload.length));
    assert.ok(high > 2 * low, `quality 95 ${high} B vs 15 ${low} B`);
    const threshold = Math.sqrt(low * high);
    const sizeOf = (frame: ReceivedFrame): [number, number] => {
      const image = cv.imdecode(frame.payload);
      return [image.cols, image.rows];
    };

    const oldAfter: number[] = [];
    const oldBefore: number[] = [];
    const switches: Array<{ body: Record<string, unknown>; isOld: (frame: ReceivedFrame) => boolean }> = [];
    for (let round = 0; round < 4; round++) {
      switches.push({ body: { quality: 15 }, isOld: (f) => f.payload.length > threshold });
      switches.push({ body: { quality: 95 }, isOld: (f) => f.payload.length < threshold });
    }
    for (let round = 0; round < 4; round++) {
      switches.push({ body: { width: 320, height: 240 }, isOld: (f) => sizeOf(f)[0] === 640 });
      switches.push({ body: { width: 640, height: 480 }, isOld: (f) => sizeOf(f)[0] === 320 });
    }
    for (const { body, isOld } of switches) {
      // Sent mid-stream, at a random point of the frame interval.
      await sleep(Math.random() * 40);
      const sentAt = subscriber.frames.length;
      const { framesAtAnswer } = await command(body);
      const following = await subscriber.collectFrames(6);
      const late = following.filter(isOld).length;
      // Old frames only right after the answer, never once a new one came.
      const firstNew = following.findIndex((f) => !isOld(f));
      assert.ok(
        firstNew >= 0 && following.slice(firstNew).every((f) => !isOld(f)),
        `${JSON.stringify(body)}: old and new frames interleaved`,
      );
      oldAfter.push(late);
      oldBefore.push(subscriber.frames.slice(sentAt, framesAtAnswer).filter(isOld).length);
    }
    const encodeMs = publisher.lines
      .filter((line) => line.msg === 'pipeline stats' && typeof line.encodeMs === 'number')
      .map((line) => line.encodeMs as number);
    t.diagnostic(
      `quality 15 ${low} B / 95 ${high} B; frames with the old setting after the answer, per command: ${oldAfter.join(' ')} (between sending and the answer: ${oldBefore.join(' ')}); publisher encode ${median(encodeMs)} ms a frame (median of its stats)`,
    );
    assert.ok(Math.max(...oldAfter) <= MAX_OLD_AFTER_ANSWER, `old frames after the answer: ${oldAfter.join(' ')}`);
    assert.equal(publisher.exitCode, null);
  });
});
