/** Sorting the errors Aedes reports per connection, for the log and the metrics. */
import type { Client } from 'aedes';
import type { Logger } from 'pino';
import { LoginRefusedError, PublishRefusedError } from './refusals.js';
import { AEDES_CONNECT_TIMEOUT, AEDES_LIFECYCLE_ERRORS } from './aedes-internals.js';
import type { BrokerMetrics } from './metrics.js';
import { MalformedPacketError, SlowClientError, remoteAddressOf } from './client-connection.js';

export type ClientErrorKind = 'refused' | 'network' | 'lifecycle' | 'slow' | 'malformed';

/**
 * Sorts an error Aedes emitted for a connection. Aedes does not mark parser errors, so anything
 * that is not ours, not a socket error (those carry a `code`) and not a known lifecycle end is a
 * malformed packet or protocol violation.
 */
export function classifyClientError(error: Error): ClientErrorKind {
  if (error instanceof LoginRefusedError || error instanceof PublishRefusedError) return 'refused';
  if (error instanceof MalformedPacketError) return 'malformed';
  if (error instanceof SlowClientError) return 'slow';
  if (typeof (error as NodeJS.ErrnoException).code === 'string') return 'network';
  if (AEDES_LIFECYCLE_ERRORS.has(error.message)) return 'lifecycle';
  return 'malformed';
}

/** Logs and counts an error Aedes emitted for a connection, by its kind. */
export function reportClientError(client: Client, error: Error, { metrics, log }: { metrics: BrokerMetrics; log: Logger }): void {
  const kind = classifyClientError(error);
  const fields = {
    clientId: (client.id as string | null) ?? undefined,
    remoteAddress: remoteAddressOf(client),
    kind,
    reason: error.message,
  };
  switch (kind) {
    case 'refused':
    case 'slow':
      return; // already logged where it was refused
    case 'malformed':
      metrics.malformedPackets.inc();
      log.warn(fields, 'client error');
      return;
    case 'lifecycle':
      if (error.message === AEDES_CONNECT_TIMEOUT) metrics.refusedConnections.inc({ reason: 'connect_timeout' });
      log.info(fields, 'client error');
      return;
    case 'network':
      log.debug(fields, 'client error');
  }
}
