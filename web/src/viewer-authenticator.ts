/**
 * Who a request is, from what it offers (see request-credentials.ts): a session cookie, HTTP
 * basic auth, or the login form's user name and password. Accepted are an account of
 * VIEWER_USERS_FILE with its own password, and any user name with the shared VIEWER_PASSWORD;
 * both may be set. Failed logins are counted per client address (the one a proxy WEB_TRUST_PROXY
 * trusts forwarded) and per user name; past the limit a login is refused unchecked.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { type AccountFile, LoginThrottle, type LoginAttempt, type LoginThrottleOptions } from '@camqtt/service-kit';
import { requestCredentials } from './request-credentials.js';
import { SessionTokens } from './session-cookie.js';
import { clientAddress, type TrustProxy } from './trust-proxy.js';
import type { ControlRights, ViewerIdentity } from './viewer-identity.js';

/**
 * Wrong user names or passwords allowed per client address before it gets 429s, for a minute at
 * first, doubling up to ten (the broker's throttle, more patient with people typing).
 */
const VIEWER_LOGIN_THROTTLE: LoginThrottleOptions = {
  failuresBeforeBlock: 10,
  firstBlockMs: 60_000,
  maxBlockMs: 10 * 60_000,
  maxAddresses: 10_000,
};

export interface ViewerAuthenticatorOptions {
  /** The shared password; empty: none. */
  password: string;
  /** VIEWER_USERS_FILE's accounts; undefined: none. */
  users: AccountFile | undefined;
  control: ControlRights;
  /** WEB_SECRET_FILE's secret, mixed into the shared-password session key; needed with a password. */
  sessionSecret: Buffer | undefined;
  /** WEB_TRUST_PROXY: whose X-Forwarded-For gives the client address for the login throttle. */
  trustProxy: TrustProxy;
  log: Logger;
}

/** Why a request was not let in: too many failures from its address or name, or nothing valid offered. */
export type Refusal = 'throttled' | 'no credentials';

export class ViewerAuthenticator {
  private readonly passwordDigest: Buffer;
  private readonly tokens: SessionTokens;
  private readonly loginThrottle = new LoginThrottle(VIEWER_LOGIN_THROTTLE);
  /** Anyone with the shared password, or anyone at all when there is no login. */
  readonly sharedIdentity: ViewerIdentity;

  constructor(private readonly options: ViewerAuthenticatorOptions) {
    this.passwordDigest = sha256(options.password);
    this.tokens = new SessionTokens(options.password, options.sessionSecret, (user) => options.users?.fingerprint(user));
    this.sharedIdentity = { user: undefined, canControl: options.control.mayControl(undefined), stillValid: () => true };
  }

  /** Whether any login is in force (VIEWER_PASSWORD or VIEWER_USERS_FILE). */
  get required(): boolean {
    return this.options.password !== '' || this.options.users !== undefined;
  }

  /** Whether the login form asks for a user name (there are accounts), and may leave it empty (there is a shared password too). */
  get formFields(): { askUser: boolean; userOptional: boolean } {
    return { askUser: this.options.users !== undefined, userOptional: this.options.password !== '' };
  }

  /**
   * A valid session cookie always gets in (it cannot be guessed, and people behind one NAT
   * address must not lock each other out). Basic auth from an address with too many failures is
   * refused unchecked, so guessing cannot go on at full speed.
   */
  async authenticate(request: IncomingMessage): Promise<ViewerIdentity | Refusal> {
    const { session, basic } = requestCredentials(request);
    const fromSession = session === undefined ? undefined : this.checkSession(session);
    if (fromSession) return fromSession;
    if (!basic) return 'no credentials';
    const viewer = await this.logIn(basic.user, basic.password, this.addressOf(request));
    return viewer ?? 'no credentials';
  }

  /**
   * The login form's or basic auth's user name and password, counted by the throttle. The viewer
   * let in, 'throttled' when refused unchecked, or undefined when wrong.
   */
  async logIn(user: string, password: string, address: string): Promise<ViewerIdentity | 'throttled' | undefined> {
    const throttled = this.loginThrottle.begin(address, user);
    if (throttled.blocked) return 'throttled';
    const viewer = await this.checkPassword(user, password, address, throttled.attempt);
    // The file may have been reloaded while the password was being checked; what is let in from
    // here on is not re-checked until the next reload.
    return viewer?.stillValid() ? viewer : undefined;
  }

  /** A session cookie's value for `viewer`, signed with the account's current fingerprint. */
  newSession(viewer: ViewerIdentity): string {
    if (viewer.user === undefined) return this.tokens.issue({ kind: 'shared' });
    return this.tokens.issue({ kind: 'account', user: viewer.user, fingerprint: this.options.users?.fingerprint(viewer.user) ?? '' });
  }

  /** The client's address, from X-Forwarded-For when WEB_TRUST_PROXY trusts the proxy in front. */
  addressOf(request: IncomingMessage): string {
    return clientAddress(request, this.options.trustProxy);
  }

  /** An account's user name and password, or the shared password with any user name. */
  private async checkPassword(user: string, password: string, address: string, attempt: LoginAttempt): Promise<ViewerIdentity | undefined> {
    const users = this.options.users;
    if (users) {
      const right = await users.verify(user, password).catch((error: unknown) => {
        attempt.abandoned();
        throw error;
      });
      const fingerprint = users.fingerprint(user);
      if (right && fingerprint !== undefined) {
        attempt.succeeded();
        return this.accountIdentity(user, fingerprint);
      }
    }
    // Digests of equal length, so the comparison takes the same time whatever was typed.
    if (this.options.password !== '' && timingSafeEqual(sha256(password), this.passwordDigest)) {
      attempt.succeeded();
      return this.sharedIdentity;
    }
    attempt.failed();
    // The user name only when it is an account: a password typed into the name field stays out of the log.
    this.options.log.warn({ remoteAddress: address, user: users?.has(user) ? user : undefined }, 'wrong viewer password');
    return undefined;
  }

  private accountIdentity(user: string, fingerprint: string): ViewerIdentity {
    return {
      user,
      canControl: this.options.control.mayControl(user),
      stillValid: () => this.options.users?.fingerprint(user) === fingerprint,
    };
  }

  private checkSession(value: string): ViewerIdentity | undefined {
    const holder = this.tokens.check(value);
    if (holder?.kind === 'shared') return this.sharedIdentity;
    return holder ? this.accountIdentity(holder.user, holder.fingerprint) : undefined;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
