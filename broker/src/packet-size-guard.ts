/**
 * A stream stage between a client socket and `aedes.handle()` that enforces the packet size cap.
 * mqtt-packet buffers a packet's whole body before parsing it, whatever its declared length, so
 * a client announcing a 200 MB PUBLISH would make the broker hold 200 MB. This stage reads only
 * each packet's fixed header (type byte + 1-4 byte remaining length, which may be split across
 * chunks) and closes the connection as soon as a declared length is over the cap. Every other
 * byte passes through untouched: chunks are forwarded as they are, never copied.
 *
 * Two more jobs sit here because this is the one place that sees a connection's raw bytes:
 * - Output never blocks Aedes. Aedes waits for 'drain' before it finishes delivering a message,
 *   and its message bus waits for every subscriber, so one frozen subscriber would stall all the
 *   others. Writes are accepted at once; `backlogBytes` lets the forward hook drop QoS 0 messages
 *   to a backed-up client, and a backlog over `maxBacklogBytes` closes the connection.
 * - A CONNECT with protocol name MQTT/MQIsdp but an unknown protocol level gets CONNACK 0x01 before
 *   the connection is closed [MQTT-3.1.2-2]; Aedes's parser would close it without any answer.
 * - QoS 1/2 flow control both ways (flow-control.ts): the MQTT 5 client's Receive Maximum, and a
 *   bound on inbound QoS 2 messages never released.
 * - When the guard ends an MQTT 5 connection itself it says why first: DISCONNECT 0x95 (packet too
 *   large), 0x93 (too many unreleased QoS 2), or CONNACK 0x97 for a throttled login.
 */
import { Duplex } from 'node:stream';
import { FlowControl } from './flow-control.js';
import { ALL_WITHIN_CAP, CONNACK_BAD_LEVEL, MALFORMED, SizeScanner, unsupportedProtocolLevel } from './fixed-header.js';

export { unsupportedProtocolLevel };

export interface OversizePacket {
  /** MQTT control packet type (3 = PUBLISH). */
  packetType: number;
  /** Remaining length the fixed header declared. */
  declaredBytes: number;
}

export interface PacketSizeGuardOptions {
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

/** What the guard needs to know of the MQTT client on the connection (public Aedes client fields). */
export interface GuardedClient {
  /** Protocol level, once the CONNECT is handled. */
  readonly version: number | null | undefined;
  /** The client's MQTT 5 Receive Maximum. */
  readonly receiveMaximum: number | undefined;
}

/** MQTT 5 DISCONNECT reason codes the guard sends (section 3.14.2.1). */
export const QUOTA_EXCEEDED = 0x97;
const DISCONNECT_RECEIVE_MAXIMUM_EXCEEDED = 0x93;
const DISCONNECT_PACKET_TOO_LARGE = 0x95;

export class MalformedPacketError extends Error {
  override name = 'MalformedPacketError';
}

export class SlowClientError extends Error {
  override name = 'SlowClientError';
}

export class PacketSizeGuard extends Duplex {
  /** Kept from the socket at creation: a destroyed socket forgets it. */
  readonly remoteAddress: string | undefined;
  /** Bytes held back until the first packet's protocol level is known; undefined once it is. */
  private held: Buffer[] | undefined = [];
  private readonly scanner: SizeScanner;
  /** Set once the guard itself ends the connection: Aedes's further output is dropped. */
  private closing = false;
  /** Set while the guard's own last packet is flushing (endWith): its close or timer ends the socket. */
  private ending = false;
  private client: GuardedClient | undefined;
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
    private readonly options: PacketSizeGuardOptions,
  ) {
    // Room for a few ~50 KB frames, so the socket is not paused and resumed for every one.
    // A high writable mark: Aedes must never see write() return false (see the file comment).
    super({ allowHalfOpen: false, readableHighWaterMark: 256 * 1024, writableHighWaterMark: 1024 * 1024 * 1024 });
    this.remoteAddress = socket.remoteAddress;
    this.scanner = new SizeScanner(options.maxPacketBytes);
    this.flow = new FlowControl({
      receiveMaximum: () => (this.client?.version === 5 ? (this.client.receiveMaximum ?? 65535) : Infinity),
      send: (chunks) => this.sendFrame(chunks),
      maxInboundQoS2: this.options.maxInboundQoS2 ?? Infinity,
      onInboundOverflow: () => {
        if (this.closing) return;
        this.options.onInboundQoS2Overflow?.();
        this.closeWith(DISCONNECT_RECEIVE_MAXIMUM_EXCEEDED);
      },
    });
  }

  /** The client Aedes made for this connection: its protocol level and Receive Maximum. */
  attach(client: GuardedClient): void {
    this.client = client;
  }

  /**
   * Ends the connection from the broker side; an MQTT 5 client is told why first with a DISCONNECT
   * carrying `reasonCode` [MQTT-4.13.2-1]. The guard drops whatever Aedes writes after this.
   */
  closeWith(reasonCode: number): void {
    if (this.client?.version === 5) this.endWith(Buffer.from([0xe0, 0x02, reasonCode, 0x00]));
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
    this.endWith(Buffer.from([0x20, 0x03, 0x00, reasonCode, 0x00]));
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

  /** Starts reading the socket; returns this, to hand to `aedes.handle()`. */
  start(): this {
    this.socket.on('data', this.onSocketData);
    this.socket.on('end', this.onSocketEnd);
    this.socket.on('error', this.onSocketError);
    this.socket.on('close', this.onSocketClose);
    return this;
  }

  private receive(chunk: Buffer): void {
    this.options.onBytesIn(chunk.length);
    const refusedAt = this.scanner.scan(chunk);
    if (refusedAt === ALL_WITHIN_CAP) {
      this.forward(chunk);
      return;
    }
    if (refusedAt === MALFORMED) {
      this.destroy(new MalformedPacketError('remaining length field longer than 4 bytes'));
      return;
    }
    // Packets complete before the refused one may go on; the refused one never does.
    if (refusedAt > 0) this.forward(chunk.subarray(0, refusedAt));
    if (this.destroyed || this.closing) return;
    this.options.onOversize({ packetType: this.scanner.packetType, declaredBytes: this.scanner.lengthValue });
    this.closeWith(DISCONNECT_PACKET_TOO_LARGE);
  }

  private forward(chunk: Buffer): void {
    if (this.held === undefined) {
      this.flow.received(chunk);
      if (!this.push(chunk)) this.socket.pause();
      return;
    }
    this.held.push(chunk);
    const start = Buffer.concat(this.held);
    const level = unsupportedProtocolLevel(start);
    if (level === undefined) return;
    this.held = undefined;
    if (level === null) {
      this.flow.received(start);
      if (!this.push(start)) this.socket.pause();
      return;
    }
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
    if (this.closing) return callback();
    this.options.onBytesOut(chunk.length);
    this.flow.write(chunk);
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

  /** Aedes corks the stream around each packet's header + payload; forward them as one batch. */
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    if (this.closing) return callback();
    this.socket.cork();
    for (const { chunk } of chunks) {
      this.options.onBytesOut(chunk.length);
      this.flow.write(chunk);
    }
    this.socket.uncork();
    callback(this.backlogError());
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
