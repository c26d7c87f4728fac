/**
 * The motion detector, tracker and pre-roll ring on synthetic frames: real OpenCV, real JPEGs.
 */
import '../src/motion/quiet-opencv-loader.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import cv from '@u4/opencv4nodejs';
import { loadConfig } from '@camqtt/service-kit';
import { MotionDetector } from '../src/motion/motion-detector.js';
import { MotionTracker } from '../src/motion/motion-tracker.js';
import { PrerollRing } from '../src/motion/preroll-ring.js';
import { CameraMotion } from '../src/motion/camera-motion.js';

const WIDTH = 640;
const HEIGHT = 480;
const FRAME_MS = 200;

/** A 640x480 JPEG: mid-grey, with `box` (fractions of the picture) filled with `level`, and uniform noise of ±`noise` grey levels. */
function frame(
  options: { box?: { x: number; y: number; width: number; height: number }; level?: number; noise?: number } = {},
): Uint8Array {
  const mat = new cv.Mat(HEIGHT, WIDTH, cv.CV_8UC3, [110, 110, 110]);
  const { box, level = 250, noise = 0 } = options;
  if (box) {
    const rect = new cv.Rect(
      Math.round(box.x * WIDTH),
      Math.round(box.y * HEIGHT),
      Math.round(box.width * WIDTH),
      Math.round(box.height * HEIGHT),
    );
    mat.drawRectangle(rect, new cv.Vec3(level, level, level), -1);
  }
  if (noise > 0) {
    const pixels = mat.getData();
    for (let i = 0; i < pixels.length; i += 1)
      pixels[i] = Math.max(0, Math.min(255, pixels[i]! + Math.round((Math.random() * 2 - 1) * noise)));
    return cv.imencode('.jpg', new cv.Mat(pixels, HEIGHT, WIDTH, cv.CV_8UC3), [cv.IMWRITE_JPEG_QUALITY, 80]);
  }
  return cv.imencode('.jpg', mat, [cv.IMWRITE_JPEG_QUALITY, 80]);
}

/** Scores of `frames` after a still background frame, one every FRAME_MS. */
function scores(detector: MotionDetector, frames: Uint8Array[], background = frame()): (number | undefined)[] {
  let time = 1_000_000;
  assert.equal(detector.score(background, time), undefined, 'the first frame starts the background');
  return frames.map((jpeg) => detector.score(jpeg, (time += FRAME_MS)));
}

const BOX = { x: 0.25, y: 0.25, width: 0.2, height: 0.25 }; // 5% of the picture

describe('motion detector', () => {
  it('scores a still picture 0 and a bright box about its share of the picture', () => {
    const [still, moved] = scores(new MotionDetector({ threshold: 25, mask: [] }), [frame(), frame({ box: BOX })]);
    assert.equal(still, 0);
    assert.ok(moved! > 0.04 && moved! < 0.07, `score ${moved} for a box of 5%`);
  });

  it('ignores a change inside the mask, and counts only the unmasked part of the picture', () => {
    const masked = scores(new MotionDetector({ threshold: 25, mask: [{ x: 0.2, y: 0.2, width: 0.3, height: 0.35 }] }), [
      frame({ box: BOX }),
    ]);
    assert.equal(masked[0], 0, 'the box is inside the masked region');
    // The left half masked: the same box (outside it) is twice the share of what is left.
    const box = { ...BOX, x: 0.6 };
    const [half] = scores(new MotionDetector({ threshold: 25, mask: [{ x: 0, y: 0, width: 0.5, height: 1 }] }), [frame({ box })]);
    assert.ok(half! > 0.08 && half! < 0.14, `score ${half} for 5% of the picture, 10% of its unmasked half`);
  });

  it('counts a pixel only when it differs by more than the threshold', () => {
    const faint = { box: BOX, level: 130 }; // 20 grey levels over the background
    assert.equal(scores(new MotionDetector({ threshold: 25, mask: [] }), [frame(faint)])[0], 0);
    assert.ok(scores(new MotionDetector({ threshold: 10, mask: [] }), [frame(faint)])[0]! > 0.04);
  });

  it('sees no motion in sensor noise of ±20 grey levels', () => {
    const detector = new MotionDetector({ threshold: 25, mask: [] });
    const noisy = Array.from({ length: 20 }, () => frame({ noise: 20 }));
    const worst = Math.max(...scores(detector, noisy, frame({ noise: 20 })).map((score) => score ?? NaN));
    assert.ok(worst < 0.001, `largest score ${worst}`);
  });

  it('absorbs a lasting change into the background', () => {
    const detector = new MotionDetector({ threshold: 25, mask: [] });
    const parked = scores(
      detector,
      Array.from({ length: 100 }, () => frame({ box: BOX })),
    ); // 20 s
    assert.ok(parked[0]! > 0.04, 'the box is motion when it appears');
    assert.equal(parked.at(-1), 0, 'and background 20 s later');
  });

  it('takes a change of most of the picture for the light, and starts the background again', () => {
    const detector = new MotionDetector({ threshold: 25, mask: [] });
    const lit = (level: number): Uint8Array => cv.imencode('.jpg', new cv.Mat(HEIGHT, WIDTH, cv.CV_8UC3, [level, level, level]));
    const [switched, after] = scores(detector, [lit(200), lit(200)]);
    assert.equal(switched, undefined, 'the lamp goes on: no score');
    assert.equal(after, 0, 'the lit scene is the background');
  });

  it('starts again after a gap, and on a new picture size', () => {
    const detector = new MotionDetector({ threshold: 25, mask: [] });
    assert.equal(detector.score(frame(), 0), undefined);
    assert.equal(detector.score(frame({ box: BOX }), 60_000), undefined, 'a minute later the old background is stale');
    const small = cv.imencode('.jpg', new cv.Mat(150, 200, cv.CV_8UC3, [110, 110, 110]));
    assert.equal(detector.score(small, 60_200), undefined, 'a new size');
    assert.equal(detector.score(small, 60_400), 0);
    assert.throws(() => detector.score(new Uint8Array([1, 2, 3]), 60_600), /not a JPEG/);
  });
});

describe('motion tracker', () => {
  it('starts on the second detection over the minimum area, with the first one’s time, and ends after the quiet time', () => {
    const tracker = new MotionTracker({ camera: 'cam1', minArea: 0.01, quietMs: 2000 });
    assert.equal(tracker.observe(1000, 0.005), undefined, 'under the minimum area');
    assert.equal(tracker.observe(1200, 0.02), undefined, 'one detection is not enough');
    const start = tracker.observe(1400, 0.03);
    assert.equal(start?.state, 'start');
    assert.equal(start.start, 1200);
    assert.equal(tracker.observe(1600, 0.2), undefined);
    assert.equal(tracker.observe(3000, 0), undefined, 'still within the quiet time');
    const end = tracker.observe(3600, 0);
    assert.deepEqual(end, { type: 'motion', state: 'end', id: start.id, camera: 'cam1', start: 1200, end: 1600, score: 0.2 });
  });

  it("ends an event on a still frame from before its last motion (the camera's clock set back)", () => {
    const tracker = new MotionTracker({ camera: 'cam1', minArea: 0.01, quietMs: 2000 });
    tracker.observe(10_000, 0.5);
    assert.equal(tracker.observe(10_200, 0.5)?.state, 'start');
    assert.equal(tracker.observe(5000, 0)?.state, 'end');
  });

  it('does not start on single detections over the minimum area between still ones', () => {
    const tracker = new MotionTracker({ camera: 'cam1', minArea: 0.01, quietMs: 2000 });
    for (let i = 0; i < 20; i += 1) assert.equal(tracker.observe(i * 200, i % 2 === 0 ? 0.5 : 0), undefined);
  });
});

describe('pre-roll ring', () => {
  const jpeg = new Uint8Array(1000);
  it('keeps the last seconds of frames, within its count and byte limits', () => {
    const ring = new PrerollRing({ ageMs: 2000, maxFrames: 1000, maxBytes: 1_000_000 });
    for (let t = 0; t <= 10_000; t += 100) ring.push({ jpeg, captureTime: t });
    assert.equal(ring.size, 21, '2 s of 10 fps, both ends included');
    const byCount = new PrerollRing({ ageMs: 2000, maxFrames: 5, maxBytes: 1_000_000 });
    const byBytes = new PrerollRing({ ageMs: 2000, maxFrames: 1000, maxBytes: 3500 });
    for (let t = 0; t <= 1000; t += 100) {
      byCount.push({ jpeg, captureTime: t });
      byBytes.push({ jpeg, captureTime: t });
    }
    assert.equal(byCount.size, 5);
    assert.equal(byBytes.size, 3);
    assert.deepEqual(
      ring.takeSince(9500).map((f) => f.captureTime),
      [9500, 9600, 9700, 9800, 9900, 10_000],
    );
    assert.equal(ring.size, 0, 'taken frames leave the ring');
  });
});

describe('camera motion', () => {
  it('in motion mode records the pre-roll on start, every frame during the event, none after', () => {
    const motion = new CameraMotion({
      camera: 'cam1',
      threshold: 25,
      mask: [],
      minArea: 0.005,
      detectionsPerS: 5,
      prerollS: 1,
      postrollS: 1,
      recordOnMotion: true,
    });
    const still = frame();
    const moving = [frame({ box: BOX }), frame({ box: { ...BOX, x: 0.5 } })];
    let time = 0;
    const outcomes = [];
    // 3 s still at 25 fps, 1 s moving, 3 s still.
    for (let i = 0; i < 175; i += 1) {
      time += 40;
      const jpeg = i >= 75 && i < 100 ? moving[Math.floor(i / 5) % 2]! : still;
      outcomes.push({ time, ...motion.frame(jpeg, time, time) });
    }
    const start = outcomes.find((o) => o.event?.state === 'start')!;
    const end = outcomes.find((o) => o.event?.state === 'end')!;
    assert.equal(start.event!.start, 76 * 40, 'the first moving frame');
    assert.equal(start.record[0]!.captureTime, 76 * 40 - 1000, 'the recording starts a pre-roll before it');
    const recorded = outcomes.flatMap((o) => o.record.map((f) => f.captureTime));
    assert.deepEqual(
      recorded,
      Array.from({ length: recorded.length }, (_, i) => recorded[0]! + i * 40),
      'every frame once, in order',
    );
    assert.equal(recorded.at(-1), end.time, 'up to the frame that ends the event');
    // The last moving frame is 99; detections come every 5th frame (MOTION_FPS=5 at 25 fps).
    assert.ok(end.event!.end! > 99 * 40 - 200, `the event ends at the last detected motion (${end.event!.end})`);
    assert.equal(end.time - end.event!.end!, 1000, 'a post-roll after it');
    motion.close();
  });
});

describe('motion settings', () => {
  it('reads the mask as rectangles of the picture, and names the variable on a bad one', () => {
    const config = loadConfig(['MOTION_MASK', 'MOTION_MIN_AREA'], { MOTION_MASK: '0,0,1,0.1; 0.8,0.8,0.2,0.2', MOTION_MIN_AREA: '0.02' });
    assert.deepEqual(config.MOTION_MASK, [
      { x: 0, y: 0, width: 1, height: 0.1 },
      { x: 0.8, y: 0.8, width: 0.2, height: 0.2 },
    ]);
    assert.equal(config.MOTION_MIN_AREA, 0.02);
    assert.deepEqual(loadConfig(['MOTION_MASK'], {}).MOTION_MASK, []);
    assert.throws(() => loadConfig(['MOTION_MASK'], { MOTION_MASK: '0,0,1' }), /^ConfigError: MOTION_MASK must be rectangles/);
    assert.throws(() => loadConfig(['MOTION_MASK'], { MOTION_MASK: '0.5,0,0.6,1' }), /does not fit in the picture/);
    assert.throws(() => loadConfig(['MOTION_MIN_AREA'], { MOTION_MIN_AREA: '5' }), /MOTION_MIN_AREA must be at most 1/);
  });
});
