/**
 * The log lines and metrics of connections the broker refuses or ends itself: at TCP accept
 * (connection-gate.ts) and on a connection's raw bytes (client-connection.ts). Errors Aedes
 * reports are sorted in client-errors.ts.
 */
import type { Logger } from 'pino';
import { PerKeyRateLimit } from '@camqtt/service-kit';
import type { ClientConnectionOptions } from './client-connection.js';
import type { BrokerMetrics } from './metrics.js';

/** Refusals an attacker can cause at will are logged once per reason per 10 s. */
const REFUSAL_LOG_WINDOW_MS = 10_000;

export type ListenerName = 'mqtt' | 'mqtts';

interface ReportDeps {
  metrics: BrokerMetrics;
  log: Logger;
}

const ACCEPT_REFUSAL_MESSAGES: Record<string, string> = {
  connection_rate: 'too many new connections from one address; connection closed',
  address_limit: 'too many connections from one address; connection closed',
  connection_limit: 'connection limit reached; connection closed',
  evicted_unauthenticated: 'connection limit reached; a connection not logged in yet was closed to make room',
};

/** Connections closed at TCP accept, and the one evicted to make room: counted each, logged a line per reason per 10 s. */
export class AcceptRefusals {
  /** Refusals at accept come as fast as an attacker connects. */
  private readonly logLimit = new PerKeyRateLimit(REFUSAL_LOG_WINDOW_MS);

  constructor(
    private readonly deps: ReportDeps & { maxConnections: number; maxConnectionsPerAddress: number; connectionRatePerAddress: number },
  ) {}

  report(reason: string, listener: ListenerName, remoteAddress: string | undefined): void {
    const { metrics, log, maxConnections, maxConnectionsPerAddress, connectionRatePerAddress } = this.deps;
    metrics.refusedConnections.inc({ reason });
    const { allowed, suppressed: skipped } = this.logLimit.take(reason);
    if (!allowed) return;
    log.warn(
      { listener, remoteAddress, reason, maxConnections, maxConnectionsPerAddress, connectionRatePerAddress, sameLinesLeftOut: skipped },
      ACCEPT_REFUSAL_MESSAGES[reason] ?? 'connection closed',
    );
  }
}

type ConnectionReports = Pick<
  ClientConnectionOptions,
  'onBacklogOverflow' | 'onBadProtocolLevel' | 'onOversize' | 'onInboundQoS2Overflow' | 'onBytesIn' | 'onBytesOut'
>;

/** The ClientConnection callbacks for a connection from `remoteAddress`. */
export function connectionReports(
  remoteAddress: string | undefined,
  { metrics, log, maxPacketBytes, maxInboundQoS2 }: ReportDeps & { maxPacketBytes: number; maxInboundQoS2: number },
): ConnectionReports {
  return {
    onBacklogOverflow: (backlogBytes) => {
      metrics.refusedConnections.inc({ reason: 'slow_client' });
      log.warn({ remoteAddress, backlogBytes }, 'client too slow; connection closed');
    },
    onBadProtocolLevel: (level) => {
      metrics.malformedPackets.inc();
      log.warn({ remoteAddress, level }, 'unsupported protocol level; CONNACK 0x01 sent');
    },
    onOversize: ({ packetType, declaredBytes }) => {
      metrics.oversizePackets.inc();
      log.warn({ remoteAddress, packetType, declaredBytes, maxPacketBytes }, 'packet too large; connection closed');
    },
    onInboundQoS2Overflow: () => {
      metrics.refusedConnections.inc({ reason: 'unreleased_qos2' });
      log.warn({ remoteAddress }, `over ${maxInboundQoS2} QoS 2 messages without PUBREL; connection closed`);
    },
    onBytesIn: (bytes) => metrics.networkBytesReceived.inc(bytes),
    onBytesOut: (bytes) => metrics.networkBytesSent.inc(bytes),
  };
}

/** A SUBSCRIBE that aedes-internals.ts refuseProtoBatches caught. */
export function reportProtoBatch(remoteAddress: string | undefined, { metrics, log }: ReportDeps): void {
  metrics.malformedPackets.inc();
  log.warn({ remoteAddress }, 'SUBSCRIBE with __proto__ among several filters; connection closed');
}
