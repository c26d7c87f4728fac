/**
 * The MQTT side of the broker: an Aedes instance behind a plain TCP listener and, when a
 * certificate is configured, a TLS listener. Every connection goes through a PacketSizeGuard
 * before Aedes sees it.
 */
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Aedes, type Client } from 'aedes';
import type { Logger } from 'pino';
import { LoginRefusedError, PublishRefusedError, remoteAddressOf, type AccessHooks } from './access-hooks.js';
import type { BrokerMetrics } from './metrics.js';
import { MalformedPacketError, PacketSizeGuard } from './packet-size-guard.js';

export interface MqttBrokerOptions {
  host: string;
  mqttPort: number;
  mqttsPort: number;
  /** PEM certificate and key; without them there is no TLS listener. */
  tls: { cert: string; key: string } | undefined;
  maxPacketBytes: number;
  hooks: AccessHooks;
  metrics: BrokerMetrics;
  log: Logger;
}

export type ListenerName = 'mqtt' | 'mqtts';

/** Errors Aedes reports that are a connection's normal end rather than a client's fault. */
const LIFECYCLE_ERRORS = new Set(['keep alive timeout', 'connect did not arrive in time', 'drain timeout', 'connection closed']);

type ClientErrorKind = 'refused' | 'network' | 'lifecycle' | 'malformed';

/**
 * Sorts an error Aedes emitted for a connection. Aedes does not mark parser errors, so anything
 * that is not ours, not a socket error (those carry a `code`) and not a known lifecycle end is a
 * malformed packet or protocol violation.
 */
export function classifyClientError(error: Error): ClientErrorKind {
  if (error instanceof LoginRefusedError || error instanceof PublishRefusedError) return 'refused';
  if (error instanceof MalformedPacketError) return 'malformed';
  if (typeof (error as NodeJS.ErrnoException).code === 'string') return 'network';
  if (LIFECYCLE_ERRORS.has(error.message)) return 'lifecycle';
  return 'malformed';
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export class MqttBroker {
  private aedes: Aedes | undefined;
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  /** Actual ports, once listening. */
  readonly ports: Partial<Record<ListenerName, number>> = {};

  constructor(private readonly options: MqttBrokerOptions) {}

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  async start(): Promise<void> {
    const { log } = this.options;
    const aedes = await Aedes.createBroker({
      ...this.options.hooks,
      // Live video: a subscriber that stops reading is cut off quickly instead of stalling others.
      drainTimeout: 10_000,
      connectTimeout: 10_000,
    });
    this.aedes = aedes;
    aedes.on('clientError', (client, error) => this.onClientError(client, error));
    aedes.on('connectionError', (client, error) => this.onClientError(client, error));
    aedes.on('clientReady', (client) => log.info({ clientId: client.id, remoteAddress: remoteAddressOf(client) }, 'client connected'));
    aedes.on('clientDisconnect', (client) => log.info({ clientId: client.id }, 'client disconnected'));

    const tcp = createTcpServer((socket) => this.accept(socket));
    await this.listenAs('mqtt', tcp, this.options.mqttPort);
    if (this.options.tls) {
      const tls = createTlsServer({ cert: this.options.tls.cert, key: this.options.tls.key, minVersion: 'TLSv1.2' });
      tls.on('secureConnection', (socket: TLSSocket) => this.accept(socket));
      tls.on('tlsClientError', (error, socket) => log.debug({ err: error, remoteAddress: socket.remoteAddress }, 'TLS handshake failed'));
      await this.listenAs('mqtts', tls, this.options.mqttsPort);
    }
  }

  private async listenAs(name: ListenerName, server: Server, port: number): Promise<void> {
    this.servers.push(server);
    server.on('error', (error) => this.options.log.error({ err: error, listener: name }, 'listener error'));
    this.ports[name] = await listen(server, port, this.options.host);
    this.options.log.info({ listener: name, host: this.options.host, port: this.ports[name] }, 'listening');
  }

  private accept(socket: Socket): void {
    const { metrics, log, maxPacketBytes } = this.options;
    if (!this.aedes || this.aedes.closed) {
      socket.destroy();
      return;
    }
    // Frames should leave as soon as they are written, not wait for Nagle.
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const guard = new PacketSizeGuard(socket, {
      maxPacketBytes,
      onOversize: ({ packetType, declaredBytes }) => {
        metrics.oversizePackets.inc();
        log.warn({ remoteAddress: socket.remoteAddress, packetType, declaredBytes, maxPacketBytes }, 'packet too large; connection closed');
      },
      onBytesIn: (bytes) => metrics.networkBytesReceived.inc(bytes),
      onBytesOut: (bytes) => metrics.networkBytesSent.inc(bytes),
    });
    this.aedes.handle(guard.start());
  }

  private onClientError(client: Client, error: Error): void {
    const kind = classifyClientError(error);
    const fields = { clientId: client.id ?? undefined, remoteAddress: remoteAddressOf(client), kind, reason: error.message };
    switch (kind) {
      case 'refused':
        return; // already logged by the hook that refused it
      case 'malformed':
        this.options.metrics.malformedPackets.inc();
        this.options.log.warn(fields, 'client error');
        return;
      case 'lifecycle':
        this.options.log.info(fields, 'client error');
        return;
      case 'network':
        this.options.log.debug(fields, 'client error');
    }
  }

  /** Stops listening, disconnects every client and releases the sockets. */
  async stop(): Promise<void> {
    const closing = this.servers.map(closeServer);
    const aedes = this.aedes;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(closing);
    this.servers.length = 0;
  }
}
