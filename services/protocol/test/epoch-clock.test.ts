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

test('two processes read the same time: a fresh child agrees with this long-running process', async () => {
  // The parent has run for a while (tests before this one); performance.timeOrigin-based clocks
  // drift apart between such processes, this one must not.
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { epochNowMs } from ${JSON.stringify(CLOCK_MODULE)};
    import { createInterface } from 'node:readline';
    epochNowMs();
    console.log('ready');
    for await (const _ of createInterface({ input: process.stdin })) console.log(epochNowMs());
  `], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  assert.equal((await lines.next()).value, 'ready');
  const gaps: number[] = [];
  for (let i = 0; i < 20; i++) {
    const sent = epochNowMs();
    child.stdin!.write('now?\n');
    const answer = Number((await lines.next()).value);
    const received = epochNowMs();
    // The child read its clock between our two readings, give or take the clocks' error.
    gaps.push(Math.min(answer - sent, received - answer));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.stdin!.end();
  await once(child, 'exit');
  gaps.sort((a, b) => a - b);
  // The median reading lies inside the bracket to within 0.5 ms (a timeOrigin clock was off by 1-5 ms here).
  assert.ok(gaps[10]! > -0.5, `the child's clock is off by ${(-gaps[10]!).toFixed(2)} ms`);
});
