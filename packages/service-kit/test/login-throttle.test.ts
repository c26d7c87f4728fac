import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginThrottle, type LoginThrottleOptions, type ThrottleVerdict } from '../src/login-throttle.js';

/** A throttle on a clock the test moves by hand: 5 failures, blocks 2 s doubling to 60 s. */
function throttleAt(options: Partial<LoginThrottleOptions> = {}): { throttle: LoginThrottle; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const throttle = new LoginThrottle({
    failuresBeforeBlock: 5,
    firstBlockMs: 2_000,
    maxBlockMs: 60_000,
    maxAddresses: 100,
    now: () => clock.now,
    ...options,
  });
  return { throttle, clock };
}

function allowed(verdict: ThrottleVerdict): NonNullable<Extract<ThrottleVerdict, { blocked: false }>['attempt']> {
  assert.equal(verdict.blocked, false, `expected the attempt to be allowed, got ${JSON.stringify(verdict)}`);
  return verdict.attempt;
}

/** One checked, wrong attempt; returns the blocks it started. */
function fail(throttle: LoginThrottle, address: string, user: string): { addressBlockMs: number; userBlockMs: number } {
  return allowed(throttle.begin(address, user)).failed();
}

describe('login throttle', () => {
  it('blocks an address after 5 failures, for 2 s doubling per further failure, up to 60 s', () => {
    const { throttle, clock } = throttleAt();
    for (let i = 1; i <= 4; i++) assert.equal(fail(throttle, '10.0.0.1', `user${i}`).addressBlockMs, 0);
    assert.equal(fail(throttle, '10.0.0.1', 'user5').addressBlockMs, 2_000);
    const refused = throttle.begin('10.0.0.1', 'user6');
    assert.deepEqual(refused, { blocked: true, by: 'address', retryInMs: 2_000 });
    assert.equal(throttle.begin('10.0.0.2', 'user6').blocked, false, 'another address is not affected');
    const blocks = [];
    for (let i = 0; i < 7; i++) {
      clock.now += 60_001;
      blocks.push(fail(throttle, '10.0.0.1', 'x').addressBlockMs);
    }
    assert.deepEqual(blocks, [4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it("does not clear an address's failures when it logs in successfully as someone else", () => {
    const { throttle } = throttleAt();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2; i++) fail(throttle, '10.0.0.1', 'alice');
      allowed(throttle.begin('10.0.0.1', 'mallory')).succeeded();
    }
    // Four wrong guesses at alice and two successes as mallory: the fifth guess blocks.
    assert.equal(fail(throttle, '10.0.0.1', 'alice').addressBlockMs, 2_000);
    assert.equal(throttle.begin('10.0.0.1', 'mallory').blocked, true, 'the address block covers every user');
  });

  it('counts attempts in flight: 500 parallel guesses get as far as 5', () => {
    const { throttle } = throttleAt();
    const verdicts = Array.from({ length: 500 }, (_, i) => throttle.begin('10.0.0.1', `user${i % 3}`));
    const attempts = verdicts.filter((verdict) => !verdict.blocked);
    assert.equal(attempts.length, 5);
    assert.ok(verdicts.slice(5).every((verdict) => verdict.blocked && verdict.by === 'in_flight'));
    // A success frees its slot; failures use theirs up, and the fifth blocks.
    allowed(verdicts[0]!).succeeded();
    const next = allowed(throttle.begin('10.0.0.1', 'user0'));
    for (const verdict of verdicts.slice(1, 5)) allowed(verdict).failed();
    assert.equal(next.failed().addressBlockMs, 2_000);
    assert.equal(throttle.begin('10.0.0.1', 'user0').blocked, true);
  });

  it('forgives failures only a quiet spell after the block ends, so a series does not restart with free guesses', () => {
    const { throttle, clock } = throttleAt();
    // Up to the longest block.
    for (let i = 0; i < 5; i++) fail(throttle, '10.0.0.1', 'alice');
    let block = 2_000;
    while (block < 60_000) {
      clock.now += block;
      block = fail(throttle, '10.0.0.1', 'alice').addressBlockMs;
    }
    // Right when the 60 s block ends (the longest block after the last failure): one guess, then 60 s again.
    clock.now += 60_000;
    assert.equal(fail(throttle, '10.0.0.1', 'alice').addressBlockMs, 60_000);
    // A quiet spell as long as the longest block, counted from the end of the block, forgives.
    clock.now += 60_000 + 60_000;
    assert.equal(fail(throttle, '10.0.0.1', 'alice').addressBlockMs, 0);
  });

  it('blocks a user name guessed at from many addresses, but not for clean addresses or ones that logged in as that user', () => {
    const { throttle } = throttleAt();
    allowed(throttle.begin('10.0.0.200', 'alice')).succeeded(); // alice's own machine
    for (let i = 1; i <= 5; i++) fail(throttle, `10.0.1.${i}`, 'alice');
    assert.deepEqual(throttle.begin('10.0.1.1', 'alice'), { blocked: true, by: 'user', retryInMs: 2_000 });
    assert.equal(throttle.begin('10.0.1.1', 'bob').blocked, false, 'the guessing address may still try other users');
    // A new address with no failures, and alice's own one even after it mistyped another user's password.
    assert.equal(throttle.begin('10.0.2.1', 'alice').blocked, false);
    fail(throttle, '10.0.0.200', 'carol');
    allowed(throttle.begin('10.0.0.200', 'alice')).succeeded();
    // A wrong password from alice's machine ends its trust: now it is an address with failures.
    fail(throttle, '10.0.0.200', 'alice');
    assert.equal(throttle.begin('10.0.0.200', 'alice').blocked, true);
  });

  it('trusts a successful pair only for trustSuccessMs', () => {
    const { throttle, clock } = throttleAt({ trustSuccessMs: 10_000, firstBlockMs: 600_000, maxBlockMs: 600_000 });
    allowed(throttle.begin('10.0.0.200', 'alice')).succeeded();
    fail(throttle, '10.0.0.200', 'bob');
    for (let i = 1; i <= 5; i++) fail(throttle, `10.0.1.${i}`, 'alice');
    assert.equal(throttle.begin('10.0.0.200', 'alice').blocked, false);
    clock.now += 10_000;
    assert.equal(throttle.begin('10.0.0.200', 'alice').blocked, true);
  });

  it('stays bounded, and a finished attempt ignores a second outcome', () => {
    const { throttle } = throttleAt({ maxAddresses: 50 });
    for (let i = 0; i < 1_000; i++) fail(throttle, `10.${i >> 8}.${i & 255}.1`, `user${i}`);
    assert.ok(throttle.size <= 50);
    const attempt = allowed(throttle.begin('10.9.9.9', 'x'));
    attempt.succeeded();
    assert.deepEqual(attempt.failed(), { addressBlockMs: 0, userBlockMs: 0 });
  });

  it('stops counting an attempt nobody finished after a minute', () => {
    const { throttle, clock } = throttleAt();
    for (let i = 0; i < 5; i++) allowed(throttle.begin('10.0.0.1', 'alice'));
    assert.equal(throttle.begin('10.0.0.1', 'alice').blocked, true);
    clock.now += 60_001;
    assert.equal(throttle.begin('10.0.0.1', 'alice').blocked, false);
  });
});
