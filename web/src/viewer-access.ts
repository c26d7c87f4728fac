/**
 * Who may watch, and who may control: the access pieces built from the relay's settings, for
 * the web server and the API to mount. Each piece does one thing:
 *   - origin-policy.ts       pages of which origins may open the WebSocket, log in, send commands
 *   - request-credentials.ts what a request offers: session cookie, basic auth
 *   - session-cookie.ts      the signed session cookie's value
 *   - viewer-authenticator.ts who that makes the request (passwords, accounts, login throttle)
 *   - viewer-identity.ts     what a viewer may do (control rights)
 *   - access-guard.ts        the gate for HTTP routes and the WebSocket upgrade
 *   - login-routes.ts        the login form, /session and log out
 */
import type express from 'express';
import type { Logger } from 'pino';
import type { AccountFile } from '@camqtt/service-kit';
import { AccessGuard } from './access-guard.js';
import { loginRoutes } from './login-routes.js';
import { OriginPolicy } from './origin-policy.js';
import type { TrustProxy } from './trust-proxy.js';
import { ViewerAuthenticator } from './viewer-authenticator.js';
import { ControlRights } from './viewer-identity.js';

export interface ViewerAccessOptions {
  /** The shared password; empty: none. */
  password: string;
  /** VIEWER_USERS_FILE's accounts; undefined: none. */
  users: AccountFile | undefined;
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

export class ViewerAccess {
  readonly origins: OriginPolicy;
  readonly control: ControlRights;
  readonly authenticator: ViewerAuthenticator;
  readonly guard: AccessGuard;

  constructor(options: ViewerAccessOptions) {
    this.origins = new OriginPolicy(options.allowedOrigins);
    this.control = new ControlRights(options.allowControl, options.controlUsers);
    this.authenticator = new ViewerAuthenticator({ ...options, control: this.control });
    this.guard = new AccessGuard(this.authenticator, this.origins, options.users !== undefined);
  }

  /** Whether any login is in force. */
  get required(): boolean {
    return this.authenticator.required;
  }

  /** The login form and its handlers; mount before the guard. */
  routes(): express.Router {
    return loginRoutes(this.authenticator, this.origins);
  }
}
