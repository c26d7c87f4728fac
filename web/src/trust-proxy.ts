/**
 * WEB_TRUST_PROXY: which reverse proxies' X-Forwarded-For and X-Forwarded-Proto the relay
 * believes. One function decides it for express (`trust proxy`: request.secure for the session
 * cookie's Secure flag, request.ip) and for the WebSocket upgrade, which bypasses express, so the
 * login throttle counts failures per real client however a request arrived. proxy-addr is what
 * express itself uses for this.
 */
import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import { ConfigError } from '@camqtt/service-kit';

/** Whether the hop at `address`, `hop` steps from the relay (0: the peer), is a trusted proxy. */
export type TrustProxy = (address: string, hop: number) => boolean;

/** `false`, `true`, a hop count, or addresses and subnets (loopback, 10.0.0.0/8, ...), comma-separated. */
export function parseTrustProxy(value: string): TrustProxy {
  const text = value.trim().toLowerCase();
  if (text === '' || text === 'false') return () => false;
  if (text === 'true') return () => true;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    return (_address, hop) => hop < hops;
  }
  try {
    return proxyAddr.compile(
      text
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    );
  } catch (error) {
    throw new ConfigError(`WEB_TRUST_PROXY ${error instanceof Error ? error.message : String(error)} (got ${JSON.stringify(value)})`);
  }
}

/** The client's address: the socket's, or the one a trusted proxy forwarded for. */
export function clientAddress(request: IncomingMessage, trust: TrustProxy): string {
  return proxyAddr(request, trust);
}
