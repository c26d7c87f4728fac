/** WriteProgress and StallWatchdog on their own, with the clock given. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STALL_LIMIT_MS, StallWatchdog, WriteProgress } from '../src/stall-watchdog.js';

test('a connection is blocked from its oldest unfinished write until a write finishes', () => {
  const progress = new WriteProgress();
  assert.equal(progress.blockedFor(1000), 0, 'nothing written');
  progress.started(1000);
  progress.started(1500);
  assert.equal(progress.blockedFor(3000), 2000);
  // One of two writes finished: progress, so the clock restarts, but a write is still pending.
  progress.finished(3000);
  assert.equal(progress.blockedFor(3500), 500);
  progress.finished(4000);
  assert.equal(progress.blockedFor(9000), 0, 'keeping up');
});

test('the watchdog hands over only the connections blocked longer than the limit', () => {
  const connections = ['fast', 'frozen', 'idle'].map((name) => ({ name, progress: new WriteProgress() }));
  const [fast, frozen] = connections as [(typeof connections)[0], (typeof connections)[0]];
  fast.progress.started(0);
  fast.progress.finished(10);
  fast.progress.started(900);
  frozen.progress.started(0);
  const stalled: Array<[string, number]> = [];
  const watchdog = new StallWatchdog(
    () => connections,
    (connection, blockedMs) => stalled.push([connection.name, blockedMs]),
    1000,
  );
  watchdog.check(1000);
  assert.deepEqual(stalled, [], 'at the limit is not over it');
  watchdog.check(1001);
  assert.deepEqual(stalled, [['frozen', 1001]]);
  assert.equal(
    new StallWatchdog(
      () => [],
      () => {},
    ).limitMs,
    STALL_LIMIT_MS,
  );
});

test('started, the watchdog checks by itself, sooner than the limit', async () => {
  const frozen = { progress: new WriteProgress() };
  frozen.progress.started(Date.now());
  const cut = new Promise<number>((resolve) => {
    const watchdog = new StallWatchdog(
      () => [frozen],
      (_connection, blockedMs) => {
        watchdog.stop();
        resolve(blockedMs);
      },
      50,
    );
    watchdog.start();
  });
  assert.ok((await cut) > 50);
});
