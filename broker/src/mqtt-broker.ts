/**
 * The MQTT side of the broker: an Aedes instance behind a plain TCP listener and, when a
 * certificate is configured, a TLS listener. Every connection goes through a PacketSizeGuard
 * before Aedes sees it. Limits Aedes lacks are added here: connection caps and rates (counted at
 * TCP accept, before TLS; see connection-gate.ts), a deadline for TLS + CONNECT, and dropping
 * refused publishes.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { remoteAddressOf, type AccessHooks } from './access-hooks.js';
import { reportClientError } from './client-errors.js';
import { deliverAtGrantedQoS, refuseProtoBatches } from './granted-qos-delivery.js';
import { wholePacketBytes } from './publish-size.js';
import { ConnectionGate } from './connection-gate.js';
import { PerKeyRateLimit } from '@camqtt/service-kit';
import type { BrokerMetrics } from './metrics.js';
import { PacketSizeGuard } from './packet-size-guard.js';
import { closeServer, listen } from './listen.js';
import { withoutWillDelay } from './will-properties.js';

/**
 * Inbound QoS 2 messages a connection may leave unreleased (no PUBREL yet): Aedes 1.2's
 * maxInflightInbound default, which the beta lacks. Advertised to MQTT 5 clients as Receive Maximum.
 */
const MAX_INBOUND_QOS2 = 1000;
/** MQTT 5 DISCONNECT reason code 0x83. */
const IMPLEMENTATION_SPECIFIC_ERROR = 0x83;

/** Refusals an attacker can cause at will are logged once per reason per 10 s. */
const REFUSAL_LOG_WINDOW_MS = 10_000;

export interface MqttBrokerOptions {
  host: string;
  /** 'off': no plain listener (TLS only). */
  mqttPort: number | 'off';
  mqttsPort: number;
  /** PEM certificate and key; without them there is no TLS listener. */
  tls: { cert: string; key: string } | undefined;
  maxPacketBytes: number;
  /** Open connections, plain and TLS together; when full, one not logged in yet makes room, else the new one is closed. */
  maxConnections: number;
  /** Open connections from one address. */
  maxConnectionsPerAddress: number;
  /** New connections a second from one address; 0: no limit. */
  connectionRatePerAddress: number;
  /** Time a connection has for its TLS handshake and then again for its CONNECT. */
  connectTimeoutMs: number;
  /** Unsent bytes per client at which QoS 0 is dropped (hooks); 4 times it disconnects. */
  maxClientBacklogBytes: number;
  hooks: AccessHooks;
  metrics: BrokerMetrics;
  log: Logger;
}

export type ListenerName = 'mqtt' | 'mqtts';

type PublishWithClient = (packet: PublishPacket, client: Client | null, done?: (error?: Error) => void) => void;

/**
 * Aedes whose `publish` skips packets the access hooks refused (see access-hooks.ts): the client's
 * QoS handshake completes as usual, but nothing is retained, queued, delivered or counted.
 */
class DroppingAedes extends Aedes {
  constructor(
    options: ConstructorParameters<typeof Aedes>[0],
    private readonly refused: WeakSet<PublishPacket>,
  ) {
    super(options);
  }

  override publish(packet: PublishPacket, clientOrDone: Client | null | ((error?: Error) => void), done?: (error?: Error) => void): void {
    const callback = typeof clientOrDone === 'function' ? clientOrDone : done;
    if (!this.refused.has(packet)) packet = withoutWillDelay(packet);
    if (this.refused.has(packet)) {
      this.refused.delete(packet);
      if (callback) setImmediate(callback);
      return;
    }
    // Aedes's real signature is (packet, client, done); its typings only declare (packet, done).
    (Aedes.prototype.publish as unknown as PublishWithClient).call(
      this,
      packet,
      typeof clientOrDone === 'function' ? null : clientOrDone,
      callback,
    );
  }
}

/** Aedes client fields the session fixes use (see patchSessionLifecycle). */
interface AedesSessionInternals {
  _cleanStart?: boolean;
  clean: boolean;
  broker: AedesPersistenceInternals;
}

interface AedesPersistenceInternals {
  persistence: { cleanIncoming: (client: Client) => Promise<void> };
}

const persistenceOf = (aedes: Aedes): AedesPersistenceInternals => aedes as unknown as AedesPersistenceInternals;

export class MqttBroker {
  private aedes: Aedes | undefined;
  private readonly servers: Server[] = [];
  /** Raw TCP sockets of every listener: what the connection limits count and stop() destroys. */
  private readonly gate: ConnectionGate;
  /** TLS: the raw socket of each connection still in its handshake, by remote address and port. */
  private readonly handshaking = new Map<string, Socket>();
  /** Each connection's PacketSizeGuard (what Aedes knows as `client.conn`) -> its raw socket. */
  private readonly rawSockets = new WeakMap<object, Socket>();
  /** Refusals at accept come as fast as an attacker connects: a line per reason per 10 s. */
  private readonly refusalLog = new PerKeyRateLimit(REFUSAL_LOG_WINDOW_MS);
  /** Actual ports, once listening. */
  readonly ports: Partial<Record<ListenerName, number>> = {};

  constructor(private readonly options: MqttBrokerOptions) {
    this.gate = new ConnectionGate({
      maxConnections: options.maxConnections,
      maxPerAddress: options.maxConnectionsPerAddress,
      ratePerAddress: options.connectionRatePerAddress,
    });
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  async start(): Promise<void> {
    const { log } = this.options;
    const { refusedPublishes, ...hooks } = this.options.hooks;
    const aedes = new DroppingAedes(
      {
        ...hooks,
        // Writes never wait for drain any more (PacketSizeGuard); this only backs that up.
        drainTimeout: 10_000,
        connectTimeout: this.options.connectTimeoutMs,
        // MQTT 5 CONNACK: the cap PacketSizeGuard enforces, as a whole-packet size [MQTT-3.2.2-15].
        maximumPacketSize: wholePacketBytes(this.options.maxPacketBytes),
        // Inbound topic aliases: 10 per connection is what a publisher of a few topics needs.
        topicAliasMaximum: 10,
        // Enforced by PacketSizeGuard (flow-control.ts) for QoS 2; QoS 1 is acknowledged at once.
        receiveMaximum: MAX_INBOUND_QOS2,
      },
      refusedPublishes,
    );
    await aedes.listen();
    this.aedes = aedes;
    aedes.on('clientError', (client, error) => reportClientError(client, error, this.options));
    aedes.on('connectionError', (client, error) => reportClientError(client, error, this.options));
    aedes.on('clientReady', (client) => {
      const raw = this.rawSockets.get(client.conn);
      if (raw) this.gate.authenticated(raw);
      log.info({ clientId: client.id, remoteAddress: remoteAddressOf(client) }, 'client connected');
    });
    aedes.on('clientDisconnect', (client) => log.info({ clientId: client.id }, 'client disconnected'));
    this.patchSessionLifecycle(aedes);

    if (this.options.mqttPort === 'off') {
      log.info({ listener: 'mqtt' }, 'plain listener off (BROKER_MQTT_PORT=off)');
    } else {
      const tcp = createTcpServer((socket) => {
        if (this.admit(socket, 'mqtt')) this.accept(socket, socket);
      });
      await this.listenAs('mqtt', tcp, this.options.mqttPort);
    }
    if (this.options.tls) {
      const tls = createTlsServer({
        cert: this.options.tls.cert,
        key: this.options.tls.key,
        minVersion: 'TLSv1.2',
        handshakeTimeout: this.options.connectTimeoutMs,
      });
      // 'connection' is the raw TCP socket, before the handshake: counted like a plain one. Node
      // offers no public link from the TLS socket back to it, but the remote address and port are one.
      tls.on('connection', (socket: Socket) => {
        if (!this.admit(socket, 'mqtts')) return;
        const key = `${socket.remoteAddress}:${socket.remotePort}`;
        this.handshaking.set(key, socket);
        socket.once('close', () => this.handshaking.delete(key));
      });
      tls.on('secureConnection', (socket: TLSSocket) => {
        const key = `${socket.remoteAddress}:${socket.remotePort}`;
        const raw = this.handshaking.get(key);
        this.handshaking.delete(key);
        if (raw) this.accept(socket, raw);
        else socket.destroy();
      });
      tls.on('tlsClientError', (error, socket) => {
        log.debug({ err: error, remoteAddress: socket.remoteAddress }, 'TLS handshake failed');
        // With a listener here Node leaves the socket open (a handshake timeout would hang forever).
        socket.destroy();
      });
      await this.listenAs('mqtts', tls, this.options.mqttsPort);
    }
  }

  /**
   * Two session fixes aedes 2.0.0-beta.1 lacks (it forked before 1.2.0), on its public events but
   * reading client fields its typings do not declare (`_cleanStart`) or declare read-only (`clean`).
   * Pinned by broker/test/mqtt5-sessions.test.ts.
   */
  private patchSessionLifecycle(aedes: Aedes): void {
    const { log } = this.options;
    const view = (client: Client): AedesSessionInternals => client as unknown as AedesSessionInternals;
    // [MQTT-3.1.2-4] / 3.1.1 [MQTT-3.1.2-6]: a session that ends also ends the client's unreleased
    // inbound QoS 2 packets, else the next session's first QoS 2 message with a reused packet id
    // is taken for a duplicate and dropped, and clients that vanish mid-handshake grow the store.
    if (typeof persistenceOf(aedes).persistence.cleanIncoming !== 'function')
      throw new Error('aedes-persistence without cleanIncoming: the root package.json override to 11.0.0 is missing');
    const cleanIncoming = (client: Client): void => {
      view(client)
        .broker.persistence.cleanIncoming(client)
        .catch((error: unknown) => log.error({ err: error, clientId: client.id }, 'dropping QoS 2 state failed'));
    };
    aedes.on('clientReady', (client) => {
      if (view(client)._cleanStart ?? client.clean) cleanIncoming(client);
    });
    aedes.on('clientDisconnect', (client) => {
      if (client.version === 5 ? client.sessionExpiryInterval === 0 : client.clean) cleanIncoming(client);
    });
    // [MQTT-3.1.2-5]: a v5 resume (Clean Start 0) asking Session Expiry 0 still gets its queued
    // messages; the beta derives `clean` from the new expiry and its queue flush, which runs right
    // after this event, drops them. The session still ends on disconnect (sessionExpiryInterval 0).
    aedes.on('connackSent', (_packet, client) => {
      const session = view(client);
      if (client.version === 5 && session._cleanStart === false && session.clean) session.clean = false;
    });
  }

  private async listenAs(name: ListenerName, server: Server, port: number): Promise<void> {
    this.servers.push(server);
    server.on('error', (error) => this.options.log.error({ err: error, listener: name }, 'listener error'));
    this.ports[name] = await listen(server, port, this.options.host);
    this.options.log.info({ listener: name, host: this.options.host, port: this.ports[name] }, 'listening');
  }

  /** Counts a new TCP connection against the limits; destroys it (and returns false) when over. */
  private admit(socket: Socket, listener: ListenerName): boolean {
    const admission = this.gate.admit(socket);
    if (admission.admitted) {
      if (admission.evicted) this.logRefusal('evicted_unauthenticated', listener, admission.evicted.remoteAddress);
      return true;
    }
    this.logRefusal(admission.reason, listener, socket.remoteAddress);
    socket.on('error', () => {});
    socket.destroy();
    return false;
  }

  private logRefusal(reason: string, listener: ListenerName, remoteAddress: string | undefined): void {
    const { metrics, log, maxConnections, maxConnectionsPerAddress, connectionRatePerAddress } = this.options;
    metrics.refusedConnections.inc({ reason });
    const { allowed, suppressed: skipped } = this.refusalLog.take(reason);
    if (!allowed) return;
    const message =
      {
        connection_rate: 'too many new connections from one address; connection closed',
        address_limit: 'too many connections from one address; connection closed',
        connection_limit: 'connection limit reached; connection closed',
        evicted_unauthenticated: 'connection limit reached; a connection not logged in yet was closed to make room',
      }[reason] ?? 'connection closed';
    log.warn(
      { listener, remoteAddress, reason, maxConnections, maxConnectionsPerAddress, connectionRatePerAddress, sameLinesLeftOut: skipped },
      message,
    );
  }

  /** `raw` is the TCP socket the gate counts (for TLS, the one under `socket`). */
  private accept(socket: Socket, raw: Socket): void {
    const { metrics, log, maxPacketBytes, maxClientBacklogBytes } = this.options;
    if (!this.aedes || this.aedes.closed) {
      socket.destroy();
      return;
    }
    // Frames should leave as soon as they are written, not wait for Nagle.
    socket.setNoDelay(true);
    const guard = new PacketSizeGuard(socket, {
      maxPacketBytes,
      maxBacklogBytes: 4 * maxClientBacklogBytes,
      onBacklogOverflow: (backlogBytes) => {
        metrics.refusedConnections.inc({ reason: 'slow_client' });
        log.warn({ remoteAddress: socket.remoteAddress, backlogBytes }, 'client too slow; connection closed');
      },
      onBadProtocolLevel: (level) => {
        metrics.malformedPackets.inc();
        log.warn({ remoteAddress: socket.remoteAddress, level }, 'unsupported protocol level; CONNACK 0x01 sent');
      },
      onOversize: ({ packetType, declaredBytes }) => {
        metrics.oversizePackets.inc();
        log.warn({ remoteAddress: socket.remoteAddress, packetType, declaredBytes, maxPacketBytes }, 'packet too large; connection closed');
      },
      maxInboundQoS2: MAX_INBOUND_QOS2,
      onInboundQoS2Overflow: () => {
        metrics.refusedConnections.inc({ reason: 'unreleased_qos2' });
        log.warn({ remoteAddress: socket.remoteAddress }, `over ${MAX_INBOUND_QOS2} QoS 2 messages without PUBREL; connection closed`);
      },
      onBytesIn: (bytes) => metrics.networkBytesReceived.inc(bytes),
      onBytesOut: (bytes) => metrics.networkBytesSent.inc(bytes),
    });
    this.rawSockets.set(guard, raw);
    const client = this.aedes.handle(guard.start());
    guard.attach(client);
    deliverAtGrantedQoS(client);
    refuseProtoBatches(client, () => {
      metrics.malformedPackets.inc();
      log.warn({ remoteAddress: socket.remoteAddress }, 'SUBSCRIBE with __proto__ among several filters; connection closed');
      guard.closeWith(IMPLEMENTATION_SPECIFIC_ERROR);
    });
  }

  /** Stops listening, disconnects every client and releases the sockets. */
  async stop(): Promise<void> {
    const closing = this.servers.map(closeServer);
    const aedes = this.aedes;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    for (const socket of [...this.gate.sockets()]) socket.destroy();
    await Promise.all(closing);
    this.servers.length = 0;
  }
}
