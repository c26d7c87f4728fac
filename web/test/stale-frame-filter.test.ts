/**
 * StaleFrameFilter on its own: every time is given, so a camera's clock offset, a burst of late
 * frames and a new normal are played out without waiting.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BASELINE_RESET_MS, STALE_AFTER_MS, StaleFrameFilter } from '../src/stale-frame-filter.js';

/** Frames of one camera whose clock is `offsetMs` off the relay's, arriving `delayMs` after capture. */
function arrivals(filter: StaleFrameFilter, camera: string, offsetMs: number) {
  return (receivedAt: number, delayMs: number): number => filter.staleBy(camera, receivedAt - delayMs + offsetMs, receivedAt);
}

test("frames on time are shown whatever the camera's clock says; its usual delay is learnt", () => {
  const filter = new StaleFrameFilter();
  const behind = arrivals(filter, 'behind', -3_600_000);
  const ahead = arrivals(filter, 'ahead', 3_600_000);
  for (let t = 0; t < 2000; t += 100) {
    assert.equal(behind(t, 40 + (t % 300) / 10), 0);
    assert.equal(ahead(t, 40), 0);
  }
});

test('a burst of frames seconds late is stale, by how late; the next frame on time is shown', () => {
  const filter = new StaleFrameFilter();
  const frame = arrivals(filter, 'cam', 0);
  for (let t = 0; t < 1000; t += 100) assert.equal(frame(t, 50), 0);
  assert.equal(frame(1000, 50 + STALE_AFTER_MS), 0, 'just at the limit is on time');
  assert.equal(frame(1010, 6000), 5950);
  assert.equal(frame(1020, 3000), 2950);
  assert.equal(frame(1100, 50), 0);
});

test('frames that stay late longer than a burst lasts become the new normal', () => {
  const filter = new StaleFrameFilter(500);
  const frame = arrivals(filter, 'cam', 0);
  for (let t = 0; t < 1000; t += 100) frame(t, 50);
  // The clock was set back by 5 s: late from t=1000 on.
  const shown: number[] = [];
  for (let t = 1000; t < 2000; t += 100) if (frame(t, 5050) === 0) shown.push(t);
  assert.deepEqual(shown, [1500, 1600, 1700, 1800, 1900]);
  assert.equal(BASELINE_RESET_MS, 3000, 'the limit outside tests');
});

test('forgetting a camera forgets its usual delay; cameras do not share one', () => {
  const filter = new StaleFrameFilter();
  const one = arrivals(filter, 'one', 0);
  const two = arrivals(filter, 'two', 0);
  one(0, 10);
  assert.equal(two(0, 5000), 0, 'the first frame of a camera sets its usual delay');
  assert.ok(one(100, 5000) > 0);
  filter.forget('one');
  assert.equal(one(200, 5000), 0);
});
