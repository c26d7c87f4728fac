/**
 * Headers on every response: the page loads only its own scripts, styles and sockets (a
 * script injected through a camera's status text could not load more or send anything
 * elsewhere), no other site may frame it (clickjacking of the controls), and browsers neither
 * guess content types nor tell other sites which page (and camera) a link was followed from.
 *
 * Written out rather than helmet: four fixed headers, and helmet's other defaults (HSTS,
 * cross-origin embedder policy, ...) would need turning off for a relay reached over plain HTTP.
 */
import type { NextFunction, Request, Response } from 'express';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const HEADERS = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // Not no-referrer: with it Chromium sends "Origin: null" on the login form's POST, which the
  // relay's same-origin check then refuses.
  'Referrer-Policy': 'same-origin',
} as const;

export function securityHeaders(_request: Request, response: Response, next: NextFunction): void {
  response.set(HEADERS);
  next();
}
