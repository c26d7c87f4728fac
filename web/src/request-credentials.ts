/**
 * What a request offers to prove who it is: the session cookie (browsers) and HTTP basic auth
 * (VLC, ffmpeg, Home Assistant, Prometheus). Only reads the headers; whether they hold is
 * viewer-authenticator.ts's to say.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseCookies } from 'cookie';
import { SESSION_COOKIE } from './session-cookie.js';

export interface BasicCredentials {
  user: string;
  password: string;
}

export interface RequestCredentials {
  /** The session cookie's value, if the request carries one. */
  session: string | undefined;
  /** The user name and password of an `Authorization: Basic` header. */
  basic: BasicCredentials | undefined;
}

export function requestCredentials(request: Pick<IncomingMessage, 'headers'>): RequestCredentials {
  const { cookie, authorization } = request.headers;
  return { session: cookie === undefined ? undefined : parseCookies(cookie)[SESSION_COOKIE], basic: basicCredentials(authorization) };
}

/**
 * `Basic base64(user:password)`, the password being everything after the first colon. Written
 * here: it is four lines, and the `basic-auth` package would add a dependency for them.
 */
export function basicCredentials(authorization: string | undefined): BasicCredentials | undefined {
  const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
