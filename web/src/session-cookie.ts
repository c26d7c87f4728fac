/**
 * The viewer session cookie's value, signed, nothing stored server-side:
 *   - shared password: `<expiry>.<HMAC(expiry)>` keyed by HMAC(WEB_SECRET_FILE's secret, password),
 *     so sessions survive a relay restart, changing the password logs everyone out, and a captured
 *     cookie is no use for guessing the password offline without the secret;
 *   - account: `u.<user, base64url>.<expiry>.<HMAC(user, expiry, fingerprint)>` where the
 *     fingerprint is a digest of the user's hash line, so removing the user or changing their
 *     password ends their sessions. The key comes from WEB_SECRET_FILE's secret, never from the
 *     users file: that holds only hashes, and a key derived from it would let anyone who can read
 *     the file forge sessions without knowing a password. With the secret, sessions outlive a
 *     restart and hold on every relay that shares it (a cluster); without one (tests that build
 *     tokens alone), the key is random per process.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'camqtt_session';
export const SESSION_MS = 7 * 24 * 3600_000;

/**
 * The cookie's attributes: HttpOnly (no script reads it), SameSite=Strict (no other site's page
 * sends it), Secure when the login came over HTTPS (`request.secure`: directly, or through a
 * proxy WEB_TRUST_PROXY trusts). Setting it adds the lifetime, SESSION_MS; clearing it takes
 * these as they are.
 */
export function sessionCookieAttributes(secure: boolean): { httpOnly: true; sameSite: 'strict'; secure: boolean; path: '/' } {
  return { httpOnly: true, sameSite: 'strict', secure, path: '/' };
}

/** Who a valid cookie was issued to. */
export type SessionHolder = { kind: 'shared' } | { kind: 'account'; user: string; fingerprint: string };

export class SessionTokens {
  private readonly passwordKey: Buffer | undefined;
  private readonly accountKey: Buffer;

  /**
   * @param password the shared password, '' for none
   * @param secret WEB_SECRET_FILE's contents (needed when there is a password)
   * @param fingerprint an account's current fingerprint, undefined once it is gone
   */
  constructor(
    password: string,
    secret: Buffer | undefined,
    private readonly fingerprint: (user: string) => string | undefined,
  ) {
    if (password !== '' && !secret) throw new Error('a shared password needs the session secret');
    this.accountKey = secret ? createHmac('sha256', secret).update('camqtt account sessions v1').digest() : randomBytes(32);
    this.passwordKey = password === '' ? undefined : createHmac('sha256', secret!).update(`camqtt viewer session v2\0${password}`).digest();
  }

  /** @param now for tests: the issue time, ms since the epoch */
  issue(holder: SessionHolder, now = Date.now()): string {
    const expires = String(now + SESSION_MS);
    if (holder.kind === 'shared') return `${expires}.${sign(this.passwordKey!, expires)}`;
    const userPart = Buffer.from(holder.user, 'utf8').toString('base64url');
    return `u.${userPart}.${expires}.${sign(this.accountKey, `${userPart}.${expires}.${holder.fingerprint}`)}`;
  }

  /** Who `value` was issued to, if it is a cookie of ours that still holds at `now`. */
  check(value: string, now = Date.now()): SessionHolder | undefined {
    const parts = value.split('.');
    if (parts.length === 2 && this.passwordKey) {
      const [expires, signature] = parts as [string, string];
      return unexpired(expires, now) && sameText(signature, sign(this.passwordKey, expires)) ? { kind: 'shared' } : undefined;
    }
    if (parts.length === 4 && parts[0] === 'u') {
      const [, userPart, expires, signature] = parts as [string, string, string, string];
      const user = Buffer.from(userPart, 'base64url').toString('utf8');
      const fingerprint = this.fingerprint(user);
      if (fingerprint === undefined || !unexpired(expires, now)) return undefined;
      return sameText(signature, sign(this.accountKey, `${userPart}.${expires}.${fingerprint}`))
        ? { kind: 'account', user, fingerprint }
        : undefined;
    }
    return undefined;
  }
}

function sign(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('base64url');
}

function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function unexpired(expires: string, now: number): boolean {
  return /^\d+$/.test(expires) && Number(expires) >= now;
}
