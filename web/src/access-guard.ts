/**
 * The gate in front of everything but /healthz and the login form: with a login in force
 * (VIEWER_PASSWORD or VIEWER_USERS_FILE) a request needs a session cookie or HTTP basic auth (see
 * viewer-authenticator.ts); with none everything is open, which is why the relay then listens
 * on 127.0.0.1 unless told otherwise, and warns at start. The WebSocket upgrade bypasses express
 * and is checked by `checkUpgrade`, which also refuses pages of a foreign origin.
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { OriginPolicy } from './origin-policy.js';
import type { ViewerAuthenticator } from './viewer-authenticator.js';
import { NOBODY, type ViewerIdentity } from './viewer-identity.js';

/** Routes that stay open: the health check, and what it takes to log in (the form and its style). */
const OPEN_PATHS = new Set(['/healthz', '/login', '/logout', '/styles.css', '/favicon.svg']);

export type UpgradeVerdict = { ok: true; viewer: ViewerIdentity } | { ok: false; status: 401 | 403 | 429; reason: string };

export class AccessGuard {
  /** Who each request that passed the guard is, for the routes behind it. */
  private readonly identities = new WeakMap<IncomingMessage, ViewerIdentity>();

  constructor(
    private readonly authenticator: ViewerAuthenticator,
    private readonly origins: OriginPolicy,
    /** Says how basic auth works here, in the 401 answer. */
    private readonly accountsFile: boolean,
  ) {}

  /** Who a request behind the guard is; a request the guard never saw may do nothing but watch. */
  identity(request: IncomingMessage): ViewerIdentity {
    return this.identities.get(request) ?? (this.authenticator.required ? NOBODY : this.authenticator.sharedIdentity);
  }

  /** Lets a request through when there is no login, or it carries a valid session or basic auth. */
  middleware(): (request: Request, response: Response, next: NextFunction) => Promise<void> {
    return async (request, response, next) => {
      if (!this.authenticator.required || OPEN_PATHS.has(request.path)) {
        next();
        return;
      }
      const verdict = await this.authenticator.authenticate(request);
      if (typeof verdict === 'object') {
        this.identities.set(request, verdict);
        next();
        return;
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
      const basicHow = this.accountsFile ? 'a viewer user name and password' : 'the viewer password (any user name)';
      response
        .set('WWW-Authenticate', 'Basic realm="camqtt", charset="UTF-8"')
        .status(401)
        .json({ error: `log in at /login, or use HTTP basic auth with ${basicHow}` });
    };
  }

  /** For the WebSocket upgrade, which bypasses express. */
  async checkUpgrade(request: IncomingMessage): Promise<UpgradeVerdict> {
    if (!this.origins.allows(request)) return { ok: false, status: 403, reason: 'foreign origin' };
    if (!this.authenticator.required) return { ok: true, viewer: this.authenticator.sharedIdentity };
    const verdict = await this.authenticator.authenticate(request);
    if (typeof verdict === 'object') return { ok: true, viewer: verdict };
    return verdict === 'throttled'
      ? { ok: false, status: 429, reason: 'too many failed logins' }
      : { ok: false, status: 401, reason: 'not logged in' };
  }
}
