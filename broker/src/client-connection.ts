/**
 * The stream Aedes reads and writes for one client (its `client.conn`), between the socket and
 * `aedes.handle()`. It is the one place that sees a connection's raw bytes, so it does four jobs,
 * each in its own part:
 *
 * - In: every chunk passes InboundPacketCheck (size cap, protocol level) and is then forwarded
 *   untouched; QoS 2 packets never released are bounded by FlowControl.
 * - Out: writes never block Aedes. Aedes waits for 'drain' before it finishes delivering a
 *   message, and its message bus waits for every subscriber, so one frozen subscriber would stall
 *   all the others. Writes are accepted at once, go through FlowControl (the MQTT 5 client's
 *   Receive Maximum), and `backlogBytes` lets the forward hook drop QoS 0 messages to a backed-up
 *   client; a backlog over `maxBacklogBytes` closes the connection.
 * - Last words: when the broker ends a connection itself it says why first (broker-replies.ts):
 *   CONNACK 0x01 for an unsupported protocol level, CONNACK 0x97 for a throttled MQTT 5 login, and
 *   an MQTT 5 DISCONNECT 0x95 (packet too large) or 0x93 (too many unreleased QoS 2).
 * - Identity: the remote address, kept after the socket is gone, and the client Aedes made for it
 *   (`connectionOf` finds this stream from an Aedes client).
 */
import { Duplex } from 'node:stream';
import type { Client } from 'aedes';
import { CONNACK_BAD_LEVEL, PACKET_TOO_LARGE, RECEIVE_MAXIMUM_EXCEEDED, connackRefusal, disconnectPacket } from './broker-replies.js';
import { FlowControl } from './flow-control.js';
import { InboundPacketCheck, type OversizePacket } from './inbound-packet-check.js';

export interface ClientConnectionOptions {
  maxPacketBytes: number;
  /** Called once, just before the connection is closed. */
  onOversize: (packet: OversizePacket) => void;
  /** Counts bytes received from / sent to the client. */
  onBytesIn: (bytes: number) => void;
  onBytesOut: (bytes: number) => void;
  /** Unsent output bytes at which the client is disconnected (Infinity: never). */
  maxBacklogBytes?: number;
  /** Called once, just before a client over maxBacklogBytes is disconnected. */
  onBacklogOverflow?: (backlogBytes: number) => void;
  /** Called once, after CONNACK 0x01 was sent for an unsupported protocol level. */
  onBadProtocolLevel?: (level: number) => void;
  /** Unreleased inbound QoS 2 PUBLISH packets (no PUBREL yet) at which the connection is closed. */
  maxInboundQoS2?: number;
  /** Called once, before a client over maxInboundQoS2 is disconnected. */
  onInboundQoS2Overflow?: () => void;
}

/** What the connection needs to know of the MQTT client on it (public Aedes client fields). */
export interface ConnectedClient {
  /** Protocol level, once the CONNECT is handled. */
  readonly version: number | null | undefined;
  /** The client's MQTT 5 Receive Maximum. */
  readonly receiveMaximum: number | undefined;
}

export class MalformedPacketError extends Error {
  override name = 'MalformedPacketError';
}

export class SlowClientError extends Error {
  override name = 'SlowClientError';
}

/** The ClientConnection under an Aedes client, if it has one (Aedes's own tests hand it bare streams). */
export function connectionOf(client: Client): ClientConnection | undefined {
  return client.conn instanceof ClientConnection ? client.conn : undefined;
}

export function remoteAddressOf(client: Client): string | undefined {
  return connectionOf(client)?.remoteAddress;
}

export class ClientConnection extends Duplex {
  /** Kept from the socket at creation: a destroyed socket forgets it. */
  readonly remoteAddress: string | undefined;
  private readonly inbound: InboundPacketCheck;
  /** Set once the broker itself ends the connection: Aedes's further output is dropped. */
  private closing = false;
  /** Set while the broker's own last packet is flushing (endWith): its close or timer ends the socket. */
  private ending = false;
  private client: ConnectedClient | undefined;
  private readonly flow: FlowControl;
  private readonly onSocketData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onSocketEnd = (): void => {
    this.push(null);
  };
  private readonly onSocketError = (error: Error): void => {
    this.destroy(error);
  };
  private readonly onSocketClose = (): void => {
    if (!this.destroyed) this.destroy();
  };

  constructor(
    private readonly socket: Duplex & { remoteAddress?: string | undefined },
    private readonly options: ClientConnectionOptions,
  ) {
    // Room for a few ~50 KB frames, so the socket is not paused and resumed for every one.
    // A high writable mark: Aedes must never see write() return false (see the file comment).
    super({ allowHalfOpen: false, readableHighWaterMark: 256 * 1024, writableHighWaterMark: 1024 * 1024 * 1024 });
    this.remoteAddress = socket.remoteAddress;
    this.inbound = new InboundPacketCheck(options.maxPacketBytes);
    this.flow = new FlowControl({
      receiveMaximum: () => (this.client?.version === 5 ? (this.client.receiveMaximum ?? 65535) : Infinity),
      send: (chunks) => this.sendFrame(chunks),
      maxInboundQoS2: this.options.maxInboundQoS2 ?? Infinity,
      onInboundOverflow: () => {
        if (this.closing) return;
        this.options.onInboundQoS2Overflow?.();
        this.closeWith(RECEIVE_MAXIMUM_EXCEEDED);
      },
    });
  }

  /** The client Aedes made for this connection: its protocol level and Receive Maximum. */
  attach(client: ConnectedClient): void {
    this.client = client;
  }

  /** Starts reading the socket; returns this, to hand to `aedes.handle()`. */
  start(): this {
    this.socket.on('data', this.onSocketData);
    this.socket.on('end', this.onSocketEnd);
    this.socket.on('error', this.onSocketError);
    this.socket.on('close', this.onSocketClose);
    return this;
  }

  /**
   * Ends the connection from the broker side; an MQTT 5 client is told why first with a DISCONNECT
   * carrying `reasonCode` [MQTT-4.13.2-1]. Whatever Aedes writes after this is dropped.
   */
  closeWith(reasonCode: number): void {
    if (this.client?.version === 5) this.endWith(disconnectPacket(reasonCode));
    else if (!this.closing) {
      this.closing = true;
      this.destroy();
    }
  }

  /**
   * Refuses an MQTT 5 CONNECT with a CONNACK reason code Aedes cannot send from its authenticate
   * hook (it maps 3.1.1 return codes only; 0x97 Quota exceeded is not among them). Aedes's own
   * CONNACK, written after this, is dropped.
   */
  refuseConnect(reasonCode: number): void {
    this.endWith(connackRefusal(reasonCode));
  }

  private endWith(packet: Buffer): void {
    if (this.closing || this.destroyed) return;
    this.closing = true;
    this.ending = true;
    this.socket.off('data', this.onSocketData);
    this.options.onBytesOut(packet.length);
    // Destroy only once the packet is out (end() flushes it); the socket's close follows.
    this.socket.off('close', this.onSocketClose);
    this.socket.once('close', () => this.destroy());
    this.socket.end(packet);
    // A client that does not read would keep end() from finishing: then it is cut off.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private receive(chunk: Buffer): void {
    this.options.onBytesIn(chunk.length);
    const verdict = this.inbound.check(chunk);
    if (verdict.malformed) {
      this.destroy(new MalformedPacketError('remaining length field longer than 4 bytes'));
      return;
    }
    if (verdict.badLevel !== undefined) {
      this.refuseLevel(verdict.badLevel);
      return;
    }
    if (verdict.bytes) {
      this.flow.received(verdict.bytes);
      if (!this.push(verdict.bytes)) this.socket.pause();
    }
    if (!verdict.oversize || this.destroyed || this.closing) return;
    this.options.onOversize(verdict.oversize);
    this.closeWith(PACKET_TOO_LARGE);
  }

  private refuseLevel(level: number): void {
    this.socket.off('data', this.onSocketData);
    this.options.onBytesOut(CONNACK_BAD_LEVEL.length);
    this.socket.end(CONNACK_BAD_LEVEL);
    this.options.onBadProtocolLevel?.(level);
    // Destroy only once the CONNACK is out (end() flushes it); the socket's close follows.
    this.socket.off('close', this.onSocketClose);
    this.socket.once('close', () => this.destroy());
  }

  /** Output bytes written but not yet handed to the operating system. */
  get backlogBytes(): number {
    return this.socket.writableLength + this.writableLength + this.flow.heldBytes;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.closing) {
      callback();
      return;
    }
    this.options.onBytesOut(chunk.length);
    this.flow.write(chunk);
    callback(this.backlogError());
  }

  /** Aedes corks the stream around each packet's header + payload; forward them as one batch. */
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    if (this.closing) {
      callback();
      return;
    }
    this.socket.cork();
    for (const { chunk } of chunks) {
      this.options.onBytesOut(chunk.length);
      this.flow.write(chunk);
    }
    this.socket.uncork();
    callback(this.backlogError());
  }

  /** One complete packet, now or when the client's Receive Maximum lets it go. */
  private sendFrame(chunks: Buffer[]): void {
    if (this.closing || this.socket.destroyed) return;
    if (chunks.length === 1) {
      this.socket.write(chunks[0]!);
      return;
    }
    this.socket.cork();
    for (const chunk of chunks) this.socket.write(chunk);
    this.socket.uncork();
  }

  /** Writes are never waited for, so this is what bounds a client's output buffer. */
  private backlogError(): SlowClientError | null {
    const limit = this.options.maxBacklogBytes ?? Infinity;
    const backlog = this.socket.writableLength;
    if (backlog <= limit) return null;
    this.options.onBacklogOverflow?.(backlog);
    return new SlowClientError(`client backlog of ${backlog} bytes is over ${limit}`);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.off('data', this.onSocketData);
    this.socket.off('end', this.onSocketEnd);
    this.socket.off('close', this.onSocketClose);
    // A late socket error after we are gone must not become an unhandled 'error' event.
    this.socket.off('error', this.onSocketError);
    this.socket.on('error', () => {});
    if (!this.ending || this.socket.writableLength === 0) this.socket.destroy();
    callback(error);
  }
}
