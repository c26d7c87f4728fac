import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capControlCommand, decodeControlCommand, fitSize, InvalidCommandError, validateControlCommand } from '../src/control.js';

test('a command with any of the known keys parses to exactly those keys', () => {
  assert.deepEqual(validateControlCommand({ fps: 15, quality: 40, width: 320, height: 240, paused: false, snapshot: true, id: 'req-1' }), {
    id: 'req-1',
    fps: 15,
    quality: 40,
    width: 320,
    height: 240,
    paused: false,
    snapshot: true,
  });
  assert.deepEqual(decodeControlCommand(new TextEncoder().encode('{"paused":true}')), { paused: true });
});

test('a bad command is refused as a whole, with the reason and the id it carried', () => {
  const refusals: Array<[unknown, RegExp]> = [
    [{ fps: 0 }, /fps must be a whole number from 1 to 120/],
    [{ quality: 50.5 }, /quality must be a whole number/],
    [{ fps: 10, colour: 'red' }, /unknown key "colour"/],
    [{ snapshot: false }, /snapshot must be true/],
    [{ id: 'x' }, /empty command/],
    [[1, 2], /not a JSON object/],
    [{ id: 'a'.repeat(65), fps: 5 }, /id must be 1 to 64/],
  ];
  for (const [value, reason] of refusals) assert.throws(() => validateControlCommand(value), reason);
  assert.throws(() => decodeControlCommand(new TextEncoder().encode('{nope')), /not JSON/);
  assert.throws(
    () => validateControlCommand({ fps: 500, id: 'req-9' }),
    (error: unknown) => error instanceof InvalidCommandError && error.id === 'req-9',
  );
});

test('capControlCommand lowers fps and size to the limits, keeping the asked proportions, and says what it lowered', () => {
  const limits = { maxWidth: 1920, maxHeight: 1080, maxFps: 60, sizeLimit: 'VIDEO_MAX_WIDTH x VIDEO_MAX_HEIGHT' };
  assert.deepEqual(capControlCommand({ width: 7680, height: 4320, fps: 120, id: 'x' }, limits), {
    command: { width: 1920, height: 1080, fps: 60, id: 'x' },
    capped: ['fps 120 capped to 60 (VIDEO_MAX_FPS)', 'size 7680x4320 capped to 1920x1080 (VIDEO_MAX_WIDTH x VIDEO_MAX_HEIGHT: 1920x1080)'],
  });
  // One dimension with the camera's current other one: fitted together.
  assert.deepEqual(capControlCommand({ width: 3840 }, limits, { width: 640, height: 480 }).command, { width: 1920, height: 240 });
  // Without it, the one given is capped alone.
  assert.deepEqual(capControlCommand({ height: 2160 }, limits).command, { height: 1080 });
  // Within the limits: untouched.
  assert.deepEqual(capControlCommand({ width: 320, height: 240, fps: 30, quality: 100 }, limits), {
    command: { width: 320, height: 240, fps: 30, quality: 100 },
    capped: [],
  });
  assert.deepEqual(fitSize(640, 480, 320, 240), { width: 320, height: 240 });
  assert.deepEqual(fitSize(320, 240, 640, 480), { width: 320, height: 240 });
});
