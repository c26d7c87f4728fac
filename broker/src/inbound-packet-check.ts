/**
 * What a connection's bytes must pass before Aedes's parser sees them, decided from fixed headers
 * alone (fixed-header.ts); chunks are passed on as they are, never copied.
 *
 * - The packet size cap. mqtt-packet buffers a packet's whole body before parsing it, whatever its
 *   declared length, so a client announcing a 200 MB PUBLISH would make the broker hold 200 MB.
 *   Each packet's fixed header (type byte + 1-4 byte remaining length, which may be split across
 *   chunks) is read, and a declared length over the cap refuses the connection before its body arrives.
 * - The protocol level. A CONNECT with protocol name MQTT/MQIsdp but an unknown level must get
 *   CONNACK 0x01 before the connection is closed [MQTT-3.1.2-2]; Aedes's parser would close it
 *   without any answer. The first bytes are held until the level is known.
 */
import { ALL_WITHIN_CAP, MALFORMED, SizeScanner, unsupportedProtocolLevel } from './fixed-header.js';

export interface OversizePacket {
  /** MQTT control packet type (3 = PUBLISH). */
  packetType: number;
  /** Remaining length the fixed header declared. */
  declaredBytes: number;
}

/** What to do with one chunk: pass `bytes` on (if any), then refuse the connection if one of the others is set. */
export interface InboundVerdict {
  /** Bytes Aedes may parse now; undefined while the start of the connection is held. */
  bytes?: Buffer;
  /** The first CONNECT's unsupported protocol level: answer CONNACK 0x01 and close; nothing passes. */
  badLevel?: number;
  /** A packet over the cap starts after `bytes`: close the connection. */
  oversize?: OversizePacket;
  /** A remaining-length field longer than 4 bytes: close the connection. */
  malformed?: true;
}

export class InboundPacketCheck {
  /** Bytes held back until the first packet's protocol level is known; undefined once it is. */
  private held: Buffer[] | undefined = [];
  private readonly scanner: SizeScanner;

  constructor(maxPacketBytes: number) {
    this.scanner = new SizeScanner(maxPacketBytes);
  }

  check(chunk: Buffer): InboundVerdict {
    const refusedAt = this.scanner.scan(chunk);
    if (refusedAt === MALFORMED) return { malformed: true };
    if (refusedAt === ALL_WITHIN_CAP) return this.checkLevel(chunk);
    // Packets complete before the refused one may go on; the refused one never does.
    const before = refusedAt > 0 ? this.checkLevel(chunk.subarray(0, refusedAt)) : {};
    if (before.badLevel !== undefined) return before;
    return { ...before, oversize: { packetType: this.scanner.packetType, declaredBytes: this.scanner.lengthValue } };
  }

  private checkLevel(bytes: Buffer): InboundVerdict {
    if (this.held === undefined) return { bytes };
    this.held.push(bytes);
    const start = Buffer.concat(this.held);
    const level = unsupportedProtocolLevel(start);
    if (level === undefined) return {};
    this.held = undefined;
    return level === null ? { bytes: start } : { badLevel: level };
  }
}
