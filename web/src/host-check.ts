/**
 * Against DNS rebinding: without a login, a web page whose name the attacker re-points to
 * 127.0.0.1 would be "same origin" with the relay (its Origin and Host both name the attacker's
 * domain), and could watch every camera and send commands. Its requests still carry the
 * attacker's name in Host, so without a login only loopback names and WEB_ALLOWED_HOSTS are
 * served, over HTTP and WebSocket alike. With a login the session cookie is bound to the real
 * name, so a rebound page gets nothing and any Host is served.
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { PerKeyRateLimit } from '@camqtt/service-kit';

/** One warning per refused Host per minute, however many requests come. */
const REFUSAL_LOG_WINDOW_MS = 60_000;

export class HostCheck {
  private readonly allowed: Set<string>;
  private readonly refusalLog = new PerKeyRateLimit(REFUSAL_LOG_WINDOW_MS);

  /**
   * @param loginRequired whether a login is in force (then every Host is served)
   * @param allowedHosts WEB_ALLOWED_HOSTS: names besides the loopback ones, any port
   */
  constructor(
    private readonly loginRequired: boolean,
    allowedHosts: string[],
    private readonly log: Logger,
  ) {
    this.allowed = new Set(allowedHosts.map(normalizeName).filter(Boolean));
  }

  /** Whether `request` may be served; logs (rate-limited) when not. */
  accepts(request: IncomingMessage): boolean {
    if (this.loginRequired) return true;
    const host = request.headers.host ?? '';
    const name = hostName(host);
    if (name !== undefined && (isLoopbackName(name) || this.allowed.has(name))) return true;
    // One key for all: the Host header is the attacker's to choose, and a key per value would
    // grow the limiter (and the log) with every name tried.
    const { allowed, suppressed } = this.refusalLog.take('host');
    if (allowed)
      this.log.warn(
        { host: host.slice(0, 100), remoteAddress: request.socket.remoteAddress, suppressedSinceLastLog: suppressed },
        "refused a request for a host name that is not this relay's (add it to WEB_ALLOWED_HOSTS, or set a viewer login)",
      );
    return false;
  }

  /** Express middleware; mount after /healthz (container checks may use any name). */
  middleware(): (request: Request, response: Response, next: NextFunction) => void {
    return (request, response, next) => {
      if (this.accepts(request)) {
        next();
        return;
      }
      response.status(403).json({
        error: `host ${JSON.stringify(request.headers.host ?? '')} is not served without a login: use localhost or 127.0.0.1, or add the name to WEB_ALLOWED_HOSTS`,
      });
    };
  }
}

/** The name part of a Host header (`name:port`, `[::1]:port`), lower case; undefined if malformed. */
function hostName(host: string): string | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]\s]+)(?::\d{1,5})?$/i.exec(host.trim());
  return match ? normalizeName(match[1]!) : undefined;
}

function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/** Names no DNS answer can re-point: 127.0.0.0/8, ::1, and localhost (browsers resolve *.localhost to loopback themselves). */
function isLoopbackName(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost') || name === '[::1]' || /^127(\.\d{1,3}){3}$/.test(name);
}
