import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeControlCommand, InvalidCommandError, parseControlCommand } from '../src/control.js';

test('a command with any of the known keys parses to exactly those keys', () => {
  assert.deepEqual(parseControlCommand({ fps: 15, quality: 40, width: 320, height: 240, paused: false, snapshot: true, id: 'req-1' }), {
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
  for (const [value, reason] of refusals) assert.throws(() => parseControlCommand(value), reason);
  assert.throws(() => decodeControlCommand(new TextEncoder().encode('{nope')), /not JSON/);
  assert.throws(
    () => parseControlCommand({ fps: 500, id: 'req-9' }),
    (error: unknown) => error instanceof InvalidCommandError && error.id === 'req-9',
  );
});
