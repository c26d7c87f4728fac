import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { epochMsAt, epochNowMs, performanceNowAt } from '../src/epoch-clock.js';

const CLOCK_MODULE = fileURLToPath(new URL('../dist/epoch-clock.js', import.meta.url));

test('epochNowMs is the wall clock with sub-ms resolution', () => {
  for (let i = 0; i < 1000; i++) {
    const before = Date.now();
    const now = epochNowMs();
    const after = Date.now();
    // Date.now() rounds down: the true time is in [before, after + 1).
    assert.ok(now >= before - 0.1 && now < after + 1.1, `${now} outside [${before}, ${after + 1})`);
  }
  const mono = performance.now();
  assert.ok(Math.abs(performanceNowAt(epochMsAt(mono)) - mono) < 0.01);
});

test('epochNowMs reads the whole ms just as Date.now() ticks over to it, over a second', async () => {
  // Right after Date.now() changes, the true time is within microseconds of the new value. Here the
  // clock is within 0.01 ms of it; performance.timeOrigin + performance.now() was 0.07 ms off on a
  // quiet machine and up to 2 ms while the wall clock was being adjusted.
  const errors: number[] = [];
  for (let i = 0; i < 21; i++) {
    const start = Date.now();
    let tick = start;
    while (tick === start) tick = Date.now();
    errors.push(Math.abs(epochNowMs() - tick));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  errors.sort((a, b) => a - b);
  assert.ok(errors[10]! < 0.05, `epochNowMs is ${errors[10]!.toFixed(3)} ms off the wall clock at a tick`);
});

test('two processes read the same time: a fresh child agrees with this long-running process', async () => {
  // The parent has run for a while (tests before this one); performance.timeOrigin-based clocks
  // drift apart between such processes, this one must not.
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
    import { epochNowMs } from ${JSON.stringify(CLOCK_MODULE)};
    import { createInterface } from 'node:readline';
    epochNowMs();
    console.log('ready');
    for await (const _ of createInterface({ input: process.stdin })) console.log(epochNowMs());
  `,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  assert.equal((await lines.next()).value, 'ready');
  const gaps: number[] = [];
  for (let i = 0; i < 20; i++) {
    const sent = epochNowMs();
    child.stdin.write('now?\n');
    const answer = Number((await lines.next()).value);
    const received = epochNowMs();
    // The child read its clock between our two readings, give or take the clocks' error.
    gaps.push(Math.min(answer - sent, received - answer));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.stdin.end();
  await once(child, 'exit');
  gaps.sort((a, b) => a - b);
  // The median reading lies inside the bracket to within 0.5 ms (a timeOrigin clock was off by 1-5 ms here).
  assert.ok(gaps[10]! > -0.5, `the child's clock is off by ${(-gaps[10]!).toFixed(2)} ms`);
});
