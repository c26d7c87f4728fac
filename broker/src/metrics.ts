/**
 * The broker's Prometheus metrics, in a registry of their own (not prom-client's global one, so
 * two brokers in one process, e.g. in a test, do not collide).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export const METRIC_PREFIX = 'camqtt_broker_';

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly connectedClients: Gauge;
  readonly openConnections: Gauge;
  readonly messagesReceived: Counter;
  readonly messagesSent: Counter;
  readonly payloadBytesReceived: Counter;
  readonly payloadBytesSent: Counter;
  readonly networkBytesReceived: Counter;
  readonly networkBytesSent: Counter;
  readonly refusedLogins: Counter<'reason'>;
  readonly refusedPublishes: Counter;
  readonly refusedSubscribes: Counter;
  readonly oversizePackets: Counter;
  readonly malformedPackets: Counter;
  readonly droppedMessages: Counter<'reason'>;
  readonly refusedConnections: Counter<'reason'>;
  readonly clusterMessagesSent: Counter;
  readonly clusterMessagesReceived: Counter;
  readonly clusterBytesSent: Counter;
  readonly clusterBytesReceived: Counter;

  /** The counts are read at scrape time, so the gauges are never stale. */
  constructor(count: { clients: () => number; connections: () => number }) {
    const registers = [this.registry];
    const counter = <L extends string = never>(name: string, help: string, labelNames: L[] = []): Counter<L> =>
      new Counter({ name: METRIC_PREFIX + name, help, labelNames, registers });
    this.connectedClients = new Gauge({
      name: `${METRIC_PREFIX}connected_clients`,
      help: 'MQTT clients connected now.',
      registers,
      collect() {
        this.set(count.clients());
      },
    });
    this.openConnections = new Gauge({
      name: `${METRIC_PREFIX}open_connections`,
      help: 'TCP connections open now, MQTT and MQTTS, logged in or not (what BROKER_MAX_CONNECTIONS caps).',
      registers,
      collect() {
        this.set(count.connections());
      },
    });
    this.messagesReceived = counter('messages_received_total', 'PUBLISH packets accepted from clients.');
    this.messagesSent = counter('messages_sent_total', 'PUBLISH packets delivered to subscribers.');
    this.payloadBytesReceived = counter('payload_bytes_received_total', 'Payload bytes of accepted PUBLISH packets.');
    this.payloadBytesSent = counter('payload_bytes_sent_total', 'Payload bytes delivered to subscribers.');
    this.networkBytesReceived = counter('network_bytes_received_total', 'Bytes read from client connections (all packets).');
    this.networkBytesSent = counter('network_bytes_sent_total', 'Bytes written to client connections (all packets).');
    this.refusedLogins = counter(
      'refused_logins_total',
      "CONNECTs refused: bad_credentials, anonymous (not allowed), throttled (too many failed logins), client_id_taken (held by another account, or a camera's), identifier_rejected.",
      ['reason'],
    );
    this.refusedPublishes = counter('refused_publishes_total', 'PUBLISH packets refused by the access rules.');
    this.refusedSubscribes = counter('refused_subscribes_total', 'Subscriptions refused by the access rules (SUBACK 0x80).');
    this.oversizePackets = counter('oversize_packets_total', 'Connections closed for a packet over BROKER_MAX_PACKET_BYTES.');
    this.malformedPackets = counter('malformed_packets_total', 'Connections closed for a malformed packet or protocol violation.');
    this.droppedMessages = counter(
      'dropped_messages_total',
      'Messages not delivered to a subscriber: slow_subscriber = QoS 0 dropped while its backlog is over BROKER_MAX_CLIENT_BACKLOG_BYTES; client_maximum_packet_size = larger than the MQTT 5 client accepts.',
      ['reason'],
    );
    this.refusedConnections = counter(
      'refused_connections_total',
      'Connections closed by a limit: connection_limit (BROKER_MAX_CONNECTIONS, all logged in), evicted_unauthenticated (not logged in yet, closed to make room), address_limit (BROKER_MAX_CONNECTIONS_PER_ADDRESS), connection_rate (BROKER_MAX_CONNECTION_RATE_PER_ADDRESS), connect_timeout (no CONNECT in time), slow_client (backlog at 4x BROKER_MAX_CLIENT_BACKLOG_BYTES), unreleased_qos2 (over 1000 inbound QoS 2 messages without PUBREL), account_revoked (account removed or password changed).',
      ['reason'],
    );
    // Stay 0 on a broker without BROKER_REDIS_URL.
    this.clusterMessagesSent = counter('cluster_messages_sent_total', 'Messages this broker published to Redis for the cluster.');
    this.clusterMessagesReceived = counter('cluster_messages_received_total', 'Messages Redis delivered to this broker from the cluster.');
    this.clusterBytesSent = counter('cluster_bytes_sent_total', 'Bytes of the messages published to Redis (encoded, as sent).');
    this.clusterBytesReceived = counter(
      'cluster_bytes_received_total',
      'Bytes of the messages Redis delivered to this broker (encoded, as received).',
    );
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
