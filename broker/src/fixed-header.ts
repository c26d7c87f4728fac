/** What InboundPacketCheck reads of the raw bytes before Aedes parses them: fixed headers and the first packet's protocol level. */

/** Protocol levels Aedes's parser accepts: MQTT 3.1, 3.1.1 and 5. */
export const SUPPORTED_LEVELS = new Set([3, 4, 5]);
/** The remaining-length field is 1 to 4 bytes (MQTT 3.1.1 section 2.2.3). */
export const MAX_LENGTH_BYTES = 4;

/**
 * Looks at the start of a connection: `undefined` while too few bytes arrived to tell, `null` if
 * it is fine to pass on (any problem other than the level is Aedes's to report), else the
 * unsupported protocol level of a CONNECT naming MQTT or MQIsdp.
 */
export function unsupportedProtocolLevel(start: Buffer): number | null | undefined {
  if (start.length < 1) return undefined;
  if (start[0]! >> 4 !== 1) return null;
  let pos = 1;
  let remaining = 0;
  let multiplier = 1;
  for (;;) {
    if (pos >= start.length) return undefined;
    const byte = start[pos++]!;
    remaining += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if (!(byte & 0x80)) break;
    if (pos > MAX_LENGTH_BYTES) return null;
  }
  const body = start.subarray(pos, pos + remaining);
  if (body.length < 2) return body.length === remaining ? null : undefined;
  const nameLength = body.readUInt16BE(0);
  if (nameLength !== 4 && nameLength !== 6) return null;
  if (body.length < 3 + nameLength) return body.length === remaining ? null : undefined;
  const name = body.toString('latin1', 2, 2 + nameLength);
  if (name !== 'MQTT' && name !== 'MQIsdp') return null;
  const level = body[2 + nameLength]! & 0x7f;
  return SUPPORTED_LEVELS.has(level) ? null : level;
}

/** `SizeScanner.scan()` results that are not an offset. */
export const ALL_WITHIN_CAP = -1;
export const MALFORMED = -2;

/** Follows the packets of a byte stream by their fixed headers, to refuse one over the cap before its body arrives. */
export class SizeScanner {
  private state: 'type' | 'length' | 'body' = 'type';
  /** Type and declared remaining length of the packet whose header was read last. */
  packetType = 0;
  lengthValue = 0;
  private lengthMultiplier = 1;
  private lengthBytes = 0;
  /** Body bytes of the current packet still to pass. */
  private bodyLeft = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /**
   * Advances the fixed-header parser over `chunk`. Returns ALL_WITHIN_CAP, MALFORMED, or the offset
   * where the oversize packet starts (0 if it started in an earlier chunk).
   */
  scan(chunk: Buffer): number {
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
        if (this.lengthValue > this.maxPacketBytes) return packetStart;
        this.bodyLeft = this.lengthValue;
        this.state = this.bodyLeft === 0 ? 'type' : 'body';
      }
    }
    return ALL_WITHIN_CAP;
  }
}
