/**
 * The MQTT side of the broker: an Aedes instance behind a plain TCP listener and, when a
 * certificate is configured, a TLS listener. Every connection goes through a ClientConnection
 * (client-connection.ts) before Aedes sees it; what reaches into Aedes is in aedes-internals.ts. Limits Aedes lacks are added here: connection caps and rates (counted at
 * TCP accept, before TLS; see connection-gate.ts), a deadline for TLS + CONNECT, and dropping
 * refused publishes.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Aedes, PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { AccessHooks } from './access-hooks.js';
import { createGatedAedes, fixSessionLifecycle, refuseProtoBatches } from './aedes-internals.js';
import { IMPLEMENTATION_SPECIFIC_ERROR } from './broker-replies.js';
import { ClientConnection, remoteAddressOf } from './client-connection.js';
import { reportClientError } from './client-errors.js';
import { ConnectionGate } from './connection-gate.js';
import { AcceptRefusals, connectionReports, reportProtoBatch, type ListenerName } from './connection-reports.js';
import { deliverAtGrantedQoS } from './granted-qos-delivery.js';
import { closeServer, listen } from '@camqtt/service-kit';
import type { BrokerMetrics } from './metrics.js';
import type { RedisCluster } from './redis-cluster.js';
import { wholePacketBytes } from './publish-size.js';
import { withoutWillDelay } from './will-properties.js';

export type { ListenerName } from './connection-reports.js';

/**
 * Inbound QoS 2 messages a connection may leave unreleased (no PUBREL yet): Aedes 1.2's
 * maxInflightInbound default, which the beta lacks. Advertised to MQTT 5 clients as Receive Maximum.
 */
const MAX_INBOUND_QOS2 = 1000;
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
  /** Set (BROKER_REDIS_URL): messages, retained messages and sessions are shared with the other brokers through Redis. */
  cluster?: RedisCluster | undefined;
  metrics: BrokerMetrics;
  log: Logger;
}

export class MqttBroker {
  private aedes: Aedes | undefined;
  private readonly servers: Server[] = [];
  /** Raw TCP sockets of every listener: what the connection limits count and stop() destroys. */
  private readonly gate: ConnectionGate;
  /** TLS: the raw socket of each connection still in its handshake, by remote address and port. */
  private readonly handshaking = new Map<string, Socket>();
  /** Each connection's ClientConnection (what Aedes knows as `client.conn`) -> its raw socket. */
  private readonly rawSockets = new WeakMap<object, Socket>();
  private readonly acceptRefusals: AcceptRefusals;
  /** Actual ports, once listening. */
  readonly ports: Partial<Record<ListenerName, number>> = {};

  constructor(private readonly options: MqttBrokerOptions) {
    this.gate = new ConnectionGate({
      maxConnections: options.maxConnections,
      maxPerAddress: options.maxConnectionsPerAddress,
      ratePerAddress: options.connectionRatePerAddress,
    });
    this.acceptRefusals = new AcceptRefusals(options);
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  /** TCP connections open now, logged in or not. */
  get openConnections(): number {
    return this.gate.size;
  }

  async start(): Promise<void> {
    const { log } = this.options;
    const { refusedPublishes, ...hooks } = this.options.hooks;
    // PUBLISH packets (and wills) the access hooks refused are dropped before Aedes's publish pipeline.
    const publishGate = (packet: PublishPacket): PublishPacket | undefined =>
      refusedPublishes.delete(packet) ? undefined : withoutWillDelay(packet);
    const aedes = createGatedAedes(
      {
        ...hooks,
        // Writes never wait for drain any more (ClientConnection); this only backs that up.
        drainTimeout: 10_000,
        connectTimeout: this.options.connectTimeoutMs,
        // MQTT 5 CONNACK: the cap ClientConnection enforces, as a whole-packet size [MQTT-3.2.2-15].
        maximumPacketSize: wholePacketBytes(this.options.maxPacketBytes),
        // Inbound topic aliases: 10 per connection is what a publisher of a few topics needs.
        topicAliasMaximum: 10,
        // Enforced by ClientConnection (flow-control.ts) for QoS 2; QoS 1 is acknowledged at once.
        receiveMaximum: MAX_INBOUND_QOS2,
        ...this.options.cluster?.aedesOptions(),
      },
      publishGate,
    );
    this.options.cluster?.watchBroker(aedes);
    await aedes.listen();
    this.aedes = aedes;
    aedes.on('clientError', (client, error) => reportClientError(client, error, this.options));
    aedes.on('connectionError', (client, error) => reportClientError(client, error, this.options));
    aedes.on('clientReady', (client) => {
      const raw = this.rawSockets.get(client.conn);
      if (raw) this.gate.authenticated(raw);
      this.options.cluster?.supersedeWillsElsewhere(aedes, client);
      log.info({ clientId: client.id, remoteAddress: remoteAddressOf(client) }, 'client connected');
    });
    aedes.on('clientDisconnect', (client) => log.info({ clientId: client.id }, 'client disconnected'));
    fixSessionLifecycle(aedes, (error, client) => log.error({ err: error, clientId: client.id }, 'dropping QoS 2 state failed'));

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
      if (admission.evicted) this.acceptRefusals.report('evicted_unauthenticated', listener, admission.evicted.remoteAddress);
      return true;
    }
    this.acceptRefusals.report(admission.reason, listener, socket.remoteAddress);
    socket.on('error', () => {});
    socket.destroy();
    return false;
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
    const remoteAddress = socket.remoteAddress;
    const connection = new ClientConnection(socket, {
      maxPacketBytes,
      maxBacklogBytes: 4 * maxClientBacklogBytes,
      maxInboundQoS2: MAX_INBOUND_QOS2,
      ...connectionReports(remoteAddress, { metrics, log, maxPacketBytes, maxInboundQoS2: MAX_INBOUND_QOS2 }),
    });
    this.rawSockets.set(connection, raw);
    const client = this.aedes.handle(connection.start());
    connection.attach(client);
    deliverAtGrantedQoS(client);
    refuseProtoBatches(client, () => {
      reportProtoBatch(remoteAddress, { metrics, log });
      connection.closeWith(IMPLEMENTATION_SPECIFIC_ERROR);
    });
  }

  /** Stops listening, disconnects every client and releases the sockets. */
  async stop(): Promise<void> {
    const closing = this.servers.map((server) => closeServer(server));
    const aedes = this.aedes;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    this.options.cluster?.disconnect();
    for (const socket of [...this.gate.sockets()]) socket.destroy();
    await Promise.all(closing);
    this.servers.length = 0;
  }
}
