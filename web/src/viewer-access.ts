/**
 * Who may watch. With a viewer password set, every route but /healthz (left open for container
 * health checks; it says nothing about the cameras) needs either
 *   - the session cookie the login form sets (browsers), or
 *   - HTTP basic auth with that password and any user name (VLC, ffmpeg, Home Assistant, Prometheus).
 * With no password everything is open, which is why the relay then listens on 127.0.0.1 unless
 * told otherwise, and warns at start.
 *
 * Independently of the password, a WebSocket upgrade from a page of a foreign origin is refused:
 * otherwise any web site a viewer visits could open ws://localhost:8080/ws and read the cameras.
 *
 * The session cookie is `<expiry>.<HMAC(expiry)>` keyed by a hash of the password: nothing to
 * store, sessions survive a relay restart, and changing the password logs everyone out.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';

const COOKIE = 'camqtt_session';
const SESSION_MS = 7 * 24 * 3600_000;
/** Wrong passwords allowed per client address per window before it gets 429s. */
const MAX_FAILURES = 10;
const FAILURE_WINDOW_MS = 10 * 60_000;
/** Routes that stay open: the health check, and what it takes to log in (the form and its style). */
const OPEN_PATHS = new Set(['/healthz', '/login', '/logout', '/styles.css']);

export interface ViewerAccessOptions {
  /** Empty: no login. */
  password: string;
  /** Origins besides the relay's own whose pages may open the WebSocket. */
  allowedOrigins: string[];
  log: Logger;
}

export type UpgradeVerdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

export class ViewerAccess {
  private readonly passwordDigest: Buffer;
  private readonly sessionKey: Buffer;
  private readonly allowedOrigins: Set<string>;
  private readonly failures = new Map<string, { since: number; count: number }>();

  constructor(private readonly options: ViewerAccessOptions) {
    this.passwordDigest = sha256(options.password);
    this.sessionKey = createHmac('sha256', 'camqtt viewer session v1').update(options.password).digest();
    this.allowedOrigins = new Set(options.allowedOrigins.map((origin) => origin.trim().replace(/\/$/, '').toLowerCase()).filter(Boolean));
  }

  get required(): boolean {
    return this.options.password !== '';
  }

  /** The login form and its handlers; mount before `guard`. */
  routes(): express.Router {
    const router = express.Router();
    router.get('/login', (request, response) => {
      if (!this.required) return response.redirect(303, '/');
      response.type('html').send(loginPage(safeNext(request.query.next), false));
    });
    router.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), (request, response) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const next = safeNext(body.next);
      if (!this.required) return response.redirect(303, next);
      if (!this.sameOrigin(request)) return response.status(403).type('text').send('login from a foreign page refused');
      const address = request.socket.remoteAddress ?? '';
      if (this.throttled(address)) return response.status(429).type('html').send(loginPage(next, 'Too many wrong passwords; wait a few minutes.'));
      if (!this.checkPassword(typeof body.password === 'string' ? body.password : '', address)) {
        return response.status(401).type('html').send(loginPage(next, 'Wrong password.'));
      }
      response.cookie(COOKIE, this.newSession(), { httpOnly: true, sameSite: 'strict', secure: request.secure, maxAge: SESSION_MS, path: '/' });
      response.redirect(303, next);
    });
    router.get('/logout', (_request, response) => {
      response.clearCookie(COOKIE, { path: '/' });
      response.redirect(303, this.required ? '/login' : '/');
    });
    return router;
  }

  /** Lets a request through when no password is set, or it carries a session or basic auth. */
  guard(): (request: Request, response: Response, next: NextFunction) => void {
    return (request, response, next) => {
      if (!this.required || OPEN_PATHS.has(request.path)) return next();
      const address = request.socket.remoteAddress ?? '';
      if (this.authorized(request, address)) return next();
      if (this.throttled(address)) {
        response.status(429).json({ error: 'too many wrong passwords; wait a few minutes' });
        return;
      }
      // A person opening the page gets the form; a tool gets the challenge it knows how to answer.
      if (request.method === 'GET' && (request.path === '/' || request.path.endsWith('.html')) && request.accepts('html')) {
        response.redirect(303, `/login?next=${encodeURIComponent(request.originalUrl)}`);
        return;
      }
      response.set('WWW-Authenticate', 'Basic realm="camqtt", charset="UTF-8"').status(401).json({ error: 'log in at /login, or use HTTP basic auth with the viewer password' });
    };
  }

  /** For the WebSocket upgrade, which bypasses express. */
  checkUpgrade(request: IncomingMessage): UpgradeVerdict {
    if (!this.sameOrigin(request)) return { ok: false, status: 403, reason: 'foreign origin' };
    if (this.required && !this.authorized(request, request.socket.remoteAddress ?? '')) return { ok: false, status: 401, reason: 'not logged in' };
    return { ok: true };
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

  private authorized(request: IncomingMessage, address: string): boolean {
    const session = cookie(request.headers.cookie, COOKIE);
    if (session !== undefined && this.validSession(session)) return true;
    const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!basic) return false;
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && this.checkPassword(decoded.slice(colon + 1), address);
  }

  private checkPassword(given: string, address: string): boolean {
    // Digests of equal length, so the comparison takes the same time whatever was typed.
    if (timingSafeEqual(sha256(given), this.passwordDigest)) return true;
    const now = Date.now();
    const entry = this.failures.get(address);
    if (!entry || now - entry.since > FAILURE_WINDOW_MS) this.failures.set(address, { since: now, count: 1 });
    else entry.count += 1;
    if (this.failures.size > 10_000) this.failures.clear();
    this.options.log.warn({ remoteAddress: address }, 'wrong viewer password');
    return false;
  }

  private throttled(address: string): boolean {
    const entry = this.failures.get(address);
    return entry !== undefined && Date.now() - entry.since <= FAILURE_WINDOW_MS && entry.count >= MAX_FAILURES;
  }

  private newSession(): string {
    const expires = String(Date.now() + SESSION_MS);
    return `${expires}.${this.sign(expires)}`;
  }

  private validSession(value: string): boolean {
    const [expires, signature] = value.split('.');
    if (!expires || !signature || !/^\d+$/.test(expires) || Number(expires) < Date.now()) return false;
    const expected = Buffer.from(this.sign(expires));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private sign(text: string): string {
    return createHmac('sha256', this.sessionKey).update(text).digest('base64url');
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return decodeURIComponent(pair.slice(at + 1).trim());
  }
  return undefined;
}

/** Only a path on this site: never `//evil.example` or `https://...` (an open redirect). */
function safeNext(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') && !value.includes('\\') ? value : '/';
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(next: string, error: string | false): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>camqtt — log in</title><link rel="stylesheet" href="/styles.css"></head>
<body class="login"><form method="post" action="/login" class="login-form">
<h1>camqtt</h1>
${error ? `<p class="login-error" role="alert">${escapeHtml(error)}</p>` : ''}
<label>Viewer password <input type="password" name="password" autocomplete="current-password" required autofocus></label>
<input type="hidden" name="next" value="${escapeHtml(next)}">
<button type="submit">Log in</button>
</form></body></html>`;
}
