/** The session cookie's value on its own: who it was issued to, how long it holds, what ends it. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SESSION_MS, SessionTokens } from '../src/session-cookie.js';

const SECRET = randomBytes(32);
const NOW = 1_764_000_000_000;

test('a shared-password cookie holds for SESSION_MS, and only with the same password and secret', () => {
  const tokens = new SessionTokens('let me watch', SECRET, () => undefined);
  const cookie = tokens.issue({ kind: 'shared' }, NOW);
  assert.deepEqual(tokens.check(cookie, NOW + SESSION_MS), { kind: 'shared' });
  assert.equal(tokens.check(cookie, NOW + SESSION_MS + 1), undefined, 'expired');
  assert.equal(new SessionTokens('another password', SECRET, () => undefined).check(cookie, NOW), undefined, 'the password changed');
  assert.equal(new SessionTokens('let me watch', randomBytes(32), () => undefined).check(cookie, NOW), undefined, 'another secret');
  // A relay restarted with the same password and secret still takes it.
  assert.deepEqual(new SessionTokens('let me watch', SECRET, () => undefined).check(cookie, NOW), { kind: 'shared' });
});

test('a tampered or foreign value is refused', () => {
  const tokens = new SessionTokens('let me watch', SECRET, () => 'fp');
  const cookie = tokens.issue({ kind: 'shared' }, NOW);
  const [expires, signature] = cookie.split('.') as [string, string];
  assert.equal(tokens.check(`${Number(expires) + 1000}.${signature}`, NOW), undefined, 'a later expiry');
  assert.equal(tokens.check(`${expires}.${signature.slice(1)}`, NOW), undefined, 'a shorter signature');
  for (const junk of ['', '.', 'x.y', 'u.x.y.z', `u.${Buffer.from('alice').toString('base64url')}.${expires}.${signature}`, cookie + '.'])
    assert.equal(tokens.check(junk, NOW), undefined, junk);
});

test("an account's cookie names the account, and ends with its fingerprint (removed, or a new password)", () => {
  const fingerprints = new Map([['alice', 'fp-1']]);
  const tokens = new SessionTokens('', undefined, (user) => fingerprints.get(user));
  const cookie = tokens.issue({ kind: 'account', user: 'alice', fingerprint: 'fp-1' }, NOW);
  assert.deepEqual(tokens.check(cookie, NOW), { kind: 'account', user: 'alice', fingerprint: 'fp-1' });
  fingerprints.set('alice', 'fp-2');
  assert.equal(tokens.check(cookie, NOW), undefined, 'a new password');
  fingerprints.delete('alice');
  assert.equal(tokens.check(cookie, NOW), undefined, 'removed');
  // Without a shared password, a shared-password-shaped value is nobody.
  assert.equal(tokens.check(`${NOW + 1000}.abc`, NOW), undefined);
});

test("account keys are per process: another relay's account cookie is refused", () => {
  const fingerprint = (): string => 'fp';
  const cookie = new SessionTokens('', undefined, fingerprint).issue({ kind: 'account', user: 'alice', fingerprint: 'fp' }, NOW);
  assert.equal(new SessionTokens('', undefined, fingerprint).check(cookie, NOW), undefined);
});

test('a shared password needs the session secret', () => {
  assert.throws(() => new SessionTokens('let me watch', undefined, () => undefined), /session secret/);
});
