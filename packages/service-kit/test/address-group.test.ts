import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressGroup } from '../src/address-group.js';
import { LoginThrottle } from '../src/login-throttle.js';

test('per-address limits count an IPv4 address, or an IPv6 /64 (a host has the whole /64)', () => {
  assert.equal(addressGroup('192.0.2.7'), '192.0.2.7');
  assert.equal(addressGroup('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(addressGroup('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  assert.equal(addressGroup('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(addressGroup('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressGroup('::1'), '0:0:0:0::/64');
});

test('guesses from fresh addresses of one IPv6 /64 are blocked like guesses from one address', () => {
  const throttle = new LoginThrottle({
    failuresBeforeBlock: 5,
    firstBlockMs: 60_000,
    maxBlockMs: 600_000,
    maxAddresses: 100,
    now: () => 1_000,
  });
  for (let i = 1; i <= 5; i += 1) {
    const verdict = throttle.begin(`2001:db8:1:2::${i.toString(16)}`, `user${i}`);
    assert.equal(verdict.blocked, false, `guess ${i} is checked`);
    verdict.attempt.failed();
  }
  assert.equal(throttle.begin('2001:db8:1:2::ffff', 'someone').blocked, true, 'a sixth address of the same /64 is blocked');
  assert.equal(throttle.begin('2001:db8:1:3::1', 'someone').blocked, false, 'another /64 is not');
});
