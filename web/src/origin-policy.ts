/**
 * Which pages may act on the relay from a browser: a WebSocket upgrade, the login form, log out
 * and control commands are refused when the request comes from a page of a foreign origin.
 * Otherwise any web site a viewer visits could open ws://localhost:8080/ws and read the cameras,
 * or post a login on their behalf.
 */
import type { IncomingMessage } from 'node:http';

export class OriginPolicy {
  private readonly allowed: Set<string>;

  /** @param allowedOrigins WEB_ALLOWED_ORIGINS: origins besides the relay's own (e.g. a reverse proxy's) */
  constructor(allowedOrigins: string[]) {
    this.allowed = new Set(allowedOrigins.map((origin) => origin.trim().replace(/\/$/, '').toLowerCase()).filter(Boolean));
  }

  /**
   * True when the request has no Origin (not from a page: curl, VLC, a Node client) or one naming
   * this very host, or one listed in WEB_ALLOWED_ORIGINS.
   */
  allows(request: Pick<IncomingMessage, 'headers'>): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) return true;
    if (this.allowed.has(origin.toLowerCase())) return true;
    try {
      return new URL(origin).host.toLowerCase() === (request.headers.host ?? '').toLowerCase();
    } catch {
      return false;
    }
  }
}
