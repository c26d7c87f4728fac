import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NewestWinsGate } from '../src/newest-wins.js';

test('a free gate delivers at once', () => {
  const seen: number[] = [];
  const gate = new NewestWinsGate<number>((item, done) => {
    seen.push(item);
    done();
  });
  gate.offer(1);
  gate.offer(2);
  assert.deepEqual(seen, [1, 2]);
  assert.equal(gate.replaced, 0);
});

test('while busy, only the newest item waits and the rest are counted as replaced', () => {
  const seen: number[] = [];
  const finishers: Array<() => void> = [];
  const gate = new NewestWinsGate<number>((item, done) => {
    seen.push(item);
    finishers.push(done);
  });
  gate.offer(1);
  gate.offer(2);
  gate.offer(3);
  gate.offer(4);
  assert.deepEqual(seen, [1]);
  finishers.shift()!();
  assert.deepEqual(seen, [1, 4]);
  assert.equal(gate.replaced, 2);
  finishers.shift()!();
  assert.equal(gate.inFlight, false);
  assert.equal(gate.delivered, 2);
});

test('a done callback called twice does not start two deliveries', () => {
  let calls = 0;
  let finish: () => void = () => {};
  const gate = new NewestWinsGate<number>((_item, done) => {
    calls += 1;
    finish = done;
  });
  gate.offer(1);
  const first = finish;
  gate.offer(2);
  first();
  first();
  assert.equal(calls, 2);
  assert.equal(gate.inFlight, true);
});
