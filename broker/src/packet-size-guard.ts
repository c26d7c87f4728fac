/**
 * A stream stage between a client socket and `aedes.handle()` that enforces the packet size cap.
 * mqtt-packet buffers a packet's whole body before parsing it, whatever its declared length, so
 * a client announcing a 200 MB PUBLISH would make the broker hold 200 MB. This stage reads only
 * each packet's fixed header (type byte + 1-4 byte remaining length, which may be split across
 * chunks) and closes the connection as soon as a declared length is over the cap. Every other
 * byte passes through untouched: chunks are forwarded as they are, never copied.
 */
import { Duplex } from 'node:stream';

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
}

/** The remaining-length field is 1 to 4 bytes (MQTT 3.1.1 section 2.2.3). */
const MAX_LENGTH_BYTES = 4;
/** `scan()` results that are not an offset. */
const ALL_WITHIN_CAP = -1;
const MALFORMED = -2;

export class MalformedPacketError extends Error {
  override name = 'MalformedPacketError';
}

type ParseState = 'type' | 'length' | 'body';

export class PacketSizeGuard extends Duplex {
  /** Kept from the socket at creation: a destroyed socket forgets it. */
  readonly remoteAddress: string | undefined;
  private state: ParseState = 'type';
  private packetType = 0;
  private lengthValue = 0;
  private lengthMultiplier = 1;
  private lengthBytes = 0;
  /** Body bytes of the current packet still to pass. */
  private bodyLeft = 0;
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
    super({ allowHalfOpen: false, readableHighWaterMark: 256 * 1024 });
    this.remoteAddress = socket.remoteAddress;
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
    const refusedAt = this.scan(chunk);
    if (refusedAt === ALL_WITHIN_CAP) {
      if (!this.push(chunk)) this.socket.pause();
      return;
    }
    if (refusedAt === MALFORMED) {
      this.destroy(new MalformedPacketError('remaining length field longer than 4 bytes'));
      return;
    }
    // Packets complete before the refused one may go on; the refused one never does.
    if (refusedAt > 0) this.push(chunk.subarray(0, refusedAt));
    this.socket.off('data', this.onSocketData);
    this.options.onOversize({ packetType: this.packetType, declaredBytes: this.lengthValue });
    this.destroy();
  }

  /**
   * Advances the fixed-header parser over `chunk`. Returns ALL_WITHIN_CAP, MALFORMED, or the offset
   * where the oversize packet starts (0 if it started in an earlier chunk).
   */
  private scan(chunk: Buffer): number {
    let pos = 0;
    let packetStart = 0;
    while (pos < chunk.length) {
      if (this.state === 'body') {
        const step = Math.min(this.bodyLeft, chunk.length - pos);
        this.bodyLeft -= step;
        pos += step;
        if (this.bodyLeft === 0) this.state = 'type';
      } else if (this.state === 'type') {
        packetStart = pos;
        this.packetType = chunk[pos]! >> 4;
        this.lengthValue = 0;
        this.lengthMultiplier = 1;
        this.lengthBytes = 0;
        this.state = 'length';
        pos += 1;
      } else {
        const byte = chunk[pos]!;
        pos += 1;
        this.lengthValue += (byte & 0x7f) * this.lengthMultiplier;
        this.lengthMultiplier *= 128;
        this.lengthBytes += 1;
        if (byte & 0x80) {
          if (this.lengthBytes === MAX_LENGTH_BYTES) return MALFORMED;
          continue;
        }
        if (this.lengthValue > this.options.maxPacketBytes) return packetStart;
        this.bodyLeft = this.lengthValue;
        this.state = this.bodyLeft === 0 ? 'type' : 'body';
      }
    }
    return ALL_WITHIN_CAP;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.options.onBytesOut(chunk.length);
    if (this.socket.write(chunk)) callback();
    else this.socket.once('drain', () => callback());
  }

  /** Aedes corks the stream around each packet's header + payload; forward them as one batch. */
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.socket.cork();
    let flushed = true;
    for (const { chunk } of chunks) {
      this.options.onBytesOut(chunk.length);
      flushed = this.socket.write(chunk);
    }
    this.socket.uncork();
    if (flushed) callback();
    else this.socket.once('drain', () => callback());
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
    this.socket.destroy();
    callback(error);
  }
}
