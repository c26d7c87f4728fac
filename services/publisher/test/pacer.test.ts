/**
 * The frame schedule, driven with explicit clock values (no timers).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pacer } from '../src/pacer.js';

test('a paced producer keeps a drift-free schedule despite late wake-ups', () => {
  const pacer = new Pacer(10); // 100 ms
  let now = 0;
  for (let frame = 0; frame < 50; frame++) {
    now += pacer.delayUntilDue(now) + 3; // every wake-up 3 ms late
    pacer.advance(now);
  }
  // The schedule is anchored at the first frame (3 ms): the 50th is due at 3 + 49 * 100 and taken
  // 3 ms late, instead of drifting to 50 * 103.
  assert.equal(now, 4906);
});

test('a slower producer sets the pace: no burst to catch up', () => {
  const pacer = new Pacer(30);
  pacer.advance(0);
  pacer.advance(200); // the producer took 200 ms: far behind a 33 ms schedule
  // The producer is the limit now, so it is asked again at once, but only once: the frames the
  // schedule "missed" are not made up in a burst.
  assert.equal(pacer.delayUntilDue(200), 0);
  pacer.advance(200);
  assert.ok(Math.abs(pacer.delayUntilDue(200) - 1000 / 30) < 1e-9);
});

test('a live source at twice the target rate has every other frame taken', () => {
  const pacer = new Pacer(15);
  const taken: number[] = [];
  for (let i = 0; i < 30; i++) {
    const now = i * (1000 / 30) + (i % 3) - 1; // 30 fps with ±1 ms jitter
    if (pacer.isDue(now)) {
      pacer.advance(now);
      taken.push(i);
    }
  }
  assert.equal(taken.length, 15);
});

test('a live source at the target rate is never halved by jitter', () => {
  const pacer = new Pacer(30);
  let taken = 0;
  for (let i = 0; i < 60; i++) {
    const now = i * (1000 / 30) + ((i * 7) % 5) - 2;
    if (pacer.isDue(now)) {
      pacer.advance(now);
      taken += 1;
    }
  }
  assert.equal(taken, 60);
});
