/**
 * Who may watch, and who may control. With a viewer password (VIEWER_PASSWORD) or viewer
 * accounts (VIEWER_USERS_FILE) set, every route but /healthz (left open for container health
 * checks; it says nothing about the cameras) needs either
 *   - the session cookie the login form sets (browsers), or
 *   - HTTP basic auth (VLC, ffmpeg, Home Assistant, Prometheus): an account's user name and
 *     password, or any user name with the shared password.
 * Both may be set; then both are accepted. With neither everything is open, which is why the
 * relay then listens on 127.0.0.1 unless told otherwise, and warns at start.
 *
 * Independently of logins, a WebSocket upgrade from a page of a foreign origin is refused:
 * otherwise any web site a viewer visits could open ws://localhost:8080/ws and read the cameras.
 *
 * The session cookie's value is made and checked in session-cookie.ts. Failed logins are counted
 * per client address, which behind a reverse proxy is the one it forwarded (WEB_TRUST_PROXY).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { LoginThrottle, type LoginAttempt, type LoginThrottleOptions } from '@camqtt/service-kit';
import { loginPage } from './login-page.js';
import { readCookie, SESSION_COOKIE as COOKIE, SESSION_MS, type SessionHolder, SessionTokens } from './session-cookie.js';
import { clientAddress, type TrustProxy } from './trust-proxy.js';
import type { ViewerUsers } from './viewer-users.js';

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
/** Routes that stay open: the health check, and what it takes to log in (the form and its style). */
const OPEN_PATHS = new Set(['/healthz', '/login', '/logout', '/styles.css', '/favicon.svg']);

export interface ViewerAccessOptions {
  /** The shared password; empty: none. */
  password: string;
  /** VIEWER_USERS_FILE's accounts; undefined: none. */
  users: ViewerUsers | undefined;
  /** VIEWER_CONTROL: whether anyone may send control commands. */
  allowControl: boolean;
  /** VIEWER_CONTROL_USERS: the accounts that may; empty: every viewer may. */
  controlUsers: string[];
  /** Origins besides the relay's own whose pages may open the WebSocket. */
  allowedOrigins: string[];
  /** WEB_SECRET_FILE's secret, mixed into the shared-password session key; needed with a password. */
  sessionSecret: Buffer | undefined;
  /** WEB_TRUST_PROXY: whose X-Forwarded-For gives the client address for the login throttle. */
  trustProxy: TrustProxy;
  log: Logger;
}

/** Who a request or connection was let in as. */
export interface ViewerIdentity {
  /** The VIEWER_USERS_FILE account; undefined for the shared password or when there is no login. */
  readonly user: string | undefined;
  /** May send control commands (hello.canControl, POST /api/cameras/<id>/control). */
  readonly canControl: boolean;
  /** False once the account has been removed from the file or its password changed. */
  stillValid(): boolean;
}

export type UpgradeVerdict = { ok: true; viewer: ViewerIdentity } | { ok: false; status: 401 | 403 | 429; reason: string };

/** What `guard` holds against a request that it did not let in. */
type Refusal = 'throttled' | 'no credentials';

export class ViewerAccess {
  private readonly passwordDigest: Buffer;
  private readonly tokens: SessionTokens;
  private readonly allowedOrigins: Set<string>;
  private readonly controlUsers: Set<string>;
  private readonly loginThrottle = new LoginThrottle(VIEWER_LOGIN_THROTTLE);
  /** Who each request that passed the guard is, for the routes behind it. */
  private readonly identities = new WeakMap<IncomingMessage, ViewerIdentity>();
  /** Anyone with the shared password, or anyone at all when there is no login. */
  private readonly sharedIdentity: ViewerIdentity;

  constructor(private readonly options: ViewerAccessOptions) {
    this.passwordDigest = sha256(options.password);
    this.tokens = new SessionTokens(options.password, options.sessionSecret, (user) => options.users?.fingerprint(user));
    this.allowedOrigins = new Set(options.allowedOrigins.map((origin) => origin.trim().replace(/\/$/, '').toLowerCase()).filter(Boolean));
    this.controlUsers = new Set(options.controlUsers.map((user) => user.trim()).filter(Boolean));
    this.sharedIdentity = { user: undefined, canControl: this.mayControl(undefined), stillValid: () => true };
  }

  get required(): boolean {
    return this.options.password !== '' || this.options.users !== undefined;
  }

  /** VIEWER_CONTROL=false: nobody may control, whoever they are. */
  get controlDisabled(): boolean {
    return !this.options.allowControl;
  }

  /** Who a request behind `guard` is; a request the guard never saw may do nothing but watch. */
  identity(request: IncomingMessage): ViewerIdentity {
    return this.identities.get(request) ?? (this.required ? NOBODY : this.sharedIdentity);
  }

  /** The login form and its handlers; mount before `guard`. */
  routes(): express.Router {
    const router = express.Router();
    const page = (next: string, error: string | false, user = ''): string =>
      loginPage({ next, error, askUser: this.options.users !== undefined, userOptional: this.options.password !== '', user });
    router.get('/login', (request, response) => {
      if (!this.required) return response.redirect(303, '/');
      response.type('html').send(page(safeNext(request.query.next), false));
    });
    router.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), async (request, response) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const next = safeNext(body.next);
      if (!this.required) return response.redirect(303, next);
      if (!this.sameOrigin(request)) return response.status(403).type('text').send('login from a foreign page refused');
      const user = typeof body.username === 'string' ? body.username.trim() : '';
      const address = this.addressOf(request);
      const throttled = this.loginThrottle.begin(address, user);
      if (throttled.blocked)
        return response
          .status(429)
          .type('html')
          .send(page(next, 'Too many failed logins; wait a few minutes.', user));
      const viewer = await this.checkCredentials(user, typeof body.password === 'string' ? body.password : '', address, throttled.attempt);
      // stillValid: the file may have changed while the password was checked, and the session is
      // signed with the account's current fingerprint.
      if (!viewer?.stillValid()) {
        // One message for a wrong user and a wrong password: the form must not tell who exists.
        const error = this.options.users ? 'Wrong user name or password.' : 'Wrong password.';
        return response
          .status(401)
          .type('html')
          .send(page(next, error, user));
      }
      // request.secure: HTTPS here, or X-Forwarded-Proto from a proxy WEB_TRUST_PROXY trusts.
      response.cookie(COOKIE, this.newSession(viewer), {
        httpOnly: true,
        sameSite: 'strict',
        secure: request.secure,
        maxAge: SESSION_MS,
        path: '/',
      });
      response.redirect(303, next);
    });
    // The page asks this when its WebSocket is refused, since a browser does not say why. Open, and
    // never a 401: a basic-auth challenge would pop a password dialog up over the page.
    router.get('/session', async (request, response) => {
      const loggedIn = !this.required || typeof (await this.authenticate(request)) === 'object';
      response.set('Cache-Control', 'no-store').json({ loginRequired: this.required, loggedIn });
    });
    // POST only, from this site: a link or image on another page must not log people out.
    router.post('/logout', (request, response) => {
      if (!this.sameOrigin(request)) return response.status(403).type('text').send('logout from a foreign page refused');
      response.clearCookie(COOKIE, { httpOnly: true, sameSite: 'strict', secure: request.secure, path: '/' });
      response.redirect(303, this.required ? '/login' : '/');
    });
    router.get('/logout', (_request, response) => {
      response.set('Allow', 'POST').status(405).type('text').send('log out with the page\'s "log out" button (POST /logout)');
    });
    return router;
  }

  /** Lets a request through when there is no login, or it carries a valid session or basic auth. */
  guard(): (request: Request, response: Response, next: NextFunction) => Promise<void> {
    return async (request, response, next) => {
      if (!this.required || OPEN_PATHS.has(request.path)) return next();
      const verdict = await this.authenticate(request);
      if (typeof verdict === 'object') {
        this.identities.set(request, verdict);
        return next();
      }
      if (verdict === 'throttled') {
        response.status(429).json({ error: 'too many failed logins; wait a few minutes' });
        return;
      }
      // A person opening the page gets the form; a tool gets the challenge it knows how to answer.
      if (request.method === 'GET' && (request.path === '/' || request.path.endsWith('.html')) && request.accepts('html')) {
        response.redirect(303, `/login?next=${encodeURIComponent(request.originalUrl)}`);
        return;
      }
      const basicHow = this.options.users ? 'a viewer user name and password' : 'the viewer password (any user name)';
      response
        .set('WWW-Authenticate', 'Basic realm="camqtt", charset="UTF-8"')
        .status(401)
        .json({ error: `log in at /login, or use HTTP basic auth with ${basicHow}` });
    };
  }

  /** For the WebSocket upgrade, which bypasses express. */
  async checkUpgrade(request: IncomingMessage): Promise<UpgradeVerdict> {
    if (!this.sameOrigin(request)) return { ok: false, status: 403, reason: 'foreign origin' };
    if (!this.required) return { ok: true, viewer: this.sharedIdentity };
    const verdict = await this.authenticate(request);
    if (typeof verdict === 'object') return { ok: true, viewer: verdict };
    return verdict === 'throttled'
      ? { ok: false, status: 429, reason: 'too many failed logins' }
      : { ok: false, status: 401, reason: 'not logged in' };
  }

  /**
   * True when the request has no Origin (not from a page: curl, VLC, a Node client) or one naming
   * this very host, or one listed in WEB_ALLOWED_ORIGINS.
   */
  sameOrigin(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) return true;
    if (this.allowedOrigins.has(origin.toLowerCase())) return true;
    try {
      return new URL(origin).host.toLowerCase() === (request.headers.host ?? '').toLowerCase();
    } catch {
      return false;
    }
  }

  /**
   * A valid session cookie always gets in (it cannot be guessed, and people behind one NAT
   * address must not lock each other out). Basic auth from an address with too many failures is
   * refused unchecked, so guessing cannot go on at full speed.
   */
  private async authenticate(request: IncomingMessage): Promise<ViewerIdentity | Refusal> {
    const session = readCookie(request.headers.cookie, COOKIE);
    const fromSession = session === undefined ? undefined : this.checkSession(session);
    if (fromSession) return fromSession;
    const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!basic) return 'no credentials';
    const address = this.addressOf(request);
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'no credentials';
    const throttled = this.loginThrottle.begin(address, decoded.slice(0, colon));
    if (throttled.blocked) return 'throttled';
    const viewer = await this.checkCredentials(decoded.slice(0, colon), decoded.slice(colon + 1), address, throttled.attempt);
    // The file may have been reloaded while the password was being checked; what is let in from
    // here on is not re-checked until the next reload.
    return viewer?.stillValid() ? viewer : 'no credentials';
  }

  /** An account's user name and password, or the shared password with any user name. */
  private async checkCredentials(
    user: string,
    password: string,
    address: string,
    attempt: LoginAttempt,
  ): Promise<ViewerIdentity | undefined> {
    const users = this.options.users;
    if (users) {
      const fingerprint = await users.verify(user, password).catch((error: unknown) => {
        attempt.abandoned();
        throw error;
      });
      if (fingerprint !== undefined) {
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

  /** The client's address, from X-Forwarded-For when WEB_TRUST_PROXY trusts the proxy in front. */
  private addressOf(request: IncomingMessage): string {
    return clientAddress(request, this.options.trustProxy) ?? '';
  }

  private mayControl(user: string | undefined): boolean {
    return this.options.allowControl && (this.controlUsers.size === 0 || (user !== undefined && this.controlUsers.has(user)));
  }

  private accountIdentity(user: string, fingerprint: string): ViewerIdentity {
    return { user, canControl: this.mayControl(user), stillValid: () => this.options.users?.fingerprint(user) === fingerprint };
  }

  private newSession(viewer: ViewerIdentity): string {
    if (viewer.user === undefined) return this.tokens.issue({ kind: 'shared' });
    return this.tokens.issue({ kind: 'account', user: viewer.user, fingerprint: this.options.users?.fingerprint(viewer.user) ?? '' });
  }

  private checkSession(value: string): ViewerIdentity | undefined {
    const holder: SessionHolder | undefined = this.tokens.check(value);
    if (holder?.kind === 'shared') return this.sharedIdentity;
    return holder ? this.accountIdentity(holder.user, holder.fingerprint) : undefined;
  }
}

/** For a request that somehow skipped the guard while a login is required: watch, never control. */
const NOBODY: ViewerIdentity = { user: undefined, canControl: false, stillValid: () => false };

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Only a path on this site: never `//evil.example` or `https://...` (an open redirect). */
function safeNext(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') && !value.includes('\\') ? value : '/';
}
