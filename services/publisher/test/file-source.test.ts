/**
 * A video file as CAMERA_SOURCE: played, looped, and a missing file reported and retried until
 * it appears.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import cv from '@u4/opencv4nodejs';
import { type ReceivedFrame, PublisherTestBed, WAIT_MS } from './support.js';

const FILE_FRAMES = 20;
const FILE_FPS = 10;

/**
 * Writes an MJPG .avi whose frame i is a flat grey of level 10 + 12 i, so a frame tells its index.
 * Written aside and renamed into place, so a publisher polling for it never sees half a file.
 */
function writeTestVideo(path: string): void {
  const partial = join(dirname(path), `partial-${basename(path)}`);
  const writer = new cv.VideoWriter(partial, cv.VideoWriter.fourcc('MJPG'), FILE_FPS, new cv.Size(320, 240), true);
  for (let i = 0; i < FILE_FRAMES; i++) {
    const level = 10 + 12 * i;
    writer.write(new cv.Mat(240, 320, cv.CV_8UC3, [level, level, level]));
  }
  writer.release();
  renameSync(partial, path);
}

/** The index of the file frame a published frame shows. */
function fileFrameIndex(frame: ReceivedFrame): number {
  const grey = cv.imdecode(frame.payload, cv.IMREAD_GRAYSCALE);
  const level = grey.at(grey.rows >> 1, grey.cols >> 1);
  return Math.round((level - 10) / 12);
}

describe('publisher with a video file', () => {
  const bed = new PublisherTestBed();
  const dir = mkdtempSync(join(tmpdir(), 'camqtt-publisher-'));

  before(async () => {
    await bed.start();
  });

  after(async () => {
    await bed.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('publishes the file at its own rate, scaled to the configured size, in order, looping at the end', async () => {
    const path = join(dir, 'clip.avi');
    writeTestVideo(path);
    const { subscriber } = await bed.camera('filecam', {
      CAMERA_ID: 'filecam',
      CAMERA_SOURCE: path,
      VIDEO_WIDTH: '160',
      VIDEO_HEIGHT: '120',
      VIDEO_FPS: '30',
    });

    // The status says what the file holds; frames are published at VIDEO_WIDTH x VIDEO_HEIGHT.
    const opened = await subscriber.status((s) => s.sourceWidth !== undefined);
    assert.deepEqual([opened.sourceWidth, opened.sourceHeight, opened.sourceFps], [320, 240, FILE_FPS]);

    // Enough frames to pass the end of the file at least once.
    const frames = await subscriber.collectFrames(FILE_FRAMES + 10, 30_000);
    let previousSeq = 0;
    const indices: number[] = [];
    for (const frame of frames) {
      const image = cv.imdecode(frame.payload);
      assert.equal(image.cols, 160);
      assert.equal(image.rows, 120);
      assert.ok(frame.meta);
      assert.equal(frame.meta.camera, 'filecam');
      assert.ok(frame.meta.seq > previousSeq);
      previousSeq = frame.meta.seq;
      indices.push(fileFrameIndex(frame));
    }
    for (const index of indices) assert.ok(index >= 0 && index < FILE_FRAMES, `frame index ${index} is in the file`);
    const wraps = indices.filter((index, i) => i > 0 && index < indices[i - 1]!).length;
    assert.equal(wraps >= 1, true, `looped back to the start: ${indices.join(',')}`);

    const status = await subscriber.status((s) => s.online && (s.framesSent ?? 0) > 0);
    assert.equal(status.source, path);
    assert.equal(status.error, undefined);
    // 320x240 MJPG published at 160x120: decoded and re-encoded.
    assert.equal(status.passthrough, false);
    assert.equal(status.sourceFormat, 'MJPG');
  });

  test('a file smaller than VIDEO_WIDTH x VIDEO_HEIGHT is published at its own size, not scaled up, and commands are capped at it', async () => {
    const path = join(dir, 'small.avi');
    writeTestVideo(path);
    const { publisher, subscriber } = await bed.camera('smallfile', { CAMERA_SOURCE: path, VIDEO_WIDTH: '640', VIDEO_HEIGHT: '480' });
    const size = (frame: ReceivedFrame): number[] => {
      const image = cv.imdecode(frame.payload);
      return [image.cols, image.rows];
    };
    for (const frame of await subscriber.collectFrames(3)) assert.deepEqual(size(frame), [320, 240]);
    const warned = await subscriber.status((s) => s.warnings?.some((w) => w.startsWith('not scaled up')) === true);
    assert.deepEqual([warned.sourceWidth, warned.sourceHeight], [320, 240]);
    await subscriber.control({ width: 1280, height: 720, id: 'hd' });
    const hd = await subscriber.status((s) => s.lastCommand?.id === 'hd');
    assert.deepEqual(hd.lastCommand?.capped, ["size 1280x720 capped to 320x180 (the source's size: 320x240)"]);
    assert.deepEqual([hd.width, hd.height], [320, 180]);
    const frames = await subscriber.collectFrames(4);
    assert.deepEqual(size(frames.at(-1)!), [320, 180]);
    assert.equal(publisher.exitCode, null);
  });

  test('VIDEO_LOOP=false plays the file once, then says so in the status and stays up without retrying', async () => {
    const path = join(dir, 'once.avi');
    writeTestVideo(path);
    const { publisher, subscriber } = await bed.camera('oncecam', {
      CAMERA_ID: 'oncecam',
      CAMERA_SOURCE: path,
      VIDEO_WIDTH: '160',
      VIDEO_HEIGHT: '120',
      VIDEO_LOOP: 'false',
    });
    const ended = await subscriber.status((s) => /^end of video file/.test(s.error ?? ''), WAIT_MS);
    assert.ok((ended.framesSent ?? 0) > 0 && (ended.framesSent ?? 0) <= FILE_FRAMES, `${ended.framesSent} frames`);
    const indices = subscriber.frames.map(fileFrameIndex);
    assert.deepEqual(
      indices,
      [...indices].sort((a, b) => a - b),
      'in order, never from the start again',
    );
    // Not reopened: a status period later (retries come every 0.25 s in tests) it still says so,
    // with no frame more.
    const later = await subscriber.nextStatus();
    assert.match(later.error ?? '', /^end of video file/);
    assert.equal(later.framesSent, ended.framesSent);
    assert.equal(publisher.exitCode, null);
  });

  test('a missing file: the status says so while the publisher retries, and it plays once it appears', async () => {
    const path = join(dir, 'appears-later.avi');
    const { publisher, subscriber } = await bed.camera('latecam', {
      CAMERA_ID: 'latecam',
      CAMERA_SOURCE: path,
      VIDEO_WIDTH: '320',
      VIDEO_HEIGHT: '240',
    });

    const failing = await subscriber.status((s) => s.online && typeof s.error === 'string');
    assert.equal(failing.error, `video file not found: ${path}`);
    assert.equal(publisher.exitCode, null);

    // Frames come only if the publisher kept trying to open it.
    writeTestVideo(path);
    const frame = await subscriber.nextFrame(() => true, WAIT_MS);
    assert.equal(cv.imdecode(frame.payload).cols, 320);
    // An MJPG file at exactly the published size: its JPEGs go out as they are.
    const playing = await subscriber.status((s) => s.online && s.error === undefined && (s.framesSent ?? 0) > 0 && s.passthrough === true);
    assert.deepEqual([playing.sourceWidth, playing.sourceHeight, playing.sourceFps], [320, 240, FILE_FPS]);
  });
});
