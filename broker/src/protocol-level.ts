/** The protocol level of a connection's first packet, read before Aedes parses it (see packet-size-guard.ts). */

/** Protocol levels Aedes's parser accepts: MQTT 3.1, 3.1.1 and 5. */
export const SUPPORTED_LEVELS = new Set([3, 4, 5]);
/** CONNACK, return code 0x01: unacceptable protocol version. */
export const CONNACK_BAD_LEVEL = Buffer.from([0x20, 0x02, 0x00, 0x01]);
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
