/**
 * MQTT 5 Message Expiry for a PUBLISH frame the flow control held back (flow-control.ts): Aedes
 * encoded it with the time left when it was written, but it only leaves once the client's Receive
 * Maximum allows. If the interval ran out meanwhile it must not go at all [MQTT-3.3.2-5], else it
 * goes with the time it has left [MQTT-3.3.2-6].
 */

/** Bytes of each PUBLISH property's value after its identifier (MQTT 5.0 section 2.2.2.2); -1: a variable byte integer; -2: length-prefixed. */
const PROPERTY_SIZES: Record<number, number> = {
  0x01: 1, // Payload Format Indicator
  0x02: 4, // Message Expiry Interval
  0x03: -2, // Content Type
  0x08: -2, // Response Topic
  0x09: -2, // Correlation Data
  0x0b: -1, // Subscription Identifier
  0x23: 2, // Topic Alias
};
const MESSAGE_EXPIRY_INTERVAL = 0x02;
const USER_PROPERTY = 0x26;

/** Reads a variable byte integer at `pos`: [value, position after it]. */
function readVarInt(frame: Buffer, pos: number): [number, number] {
  let value = 0;
  let multiplier = 1;
  for (;;) {
    const byte = frame[pos++]!;
    value += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if (!(byte & 0x80)) return [value, pos];
  }
}

/** Offset of the Message Expiry Interval's value in an MQTT 5 PUBLISH frame, or -1 if it has none. */
export function messageExpiryOffset(frame: Buffer): number {
  let [, pos] = readVarInt(frame, 1);
  pos += 2 + frame.readUInt16BE(pos);
  if ((frame[0]! >> 1) & 3) pos += 2;
  const [length, start] = readVarInt(frame, pos);
  for (pos = start; pos < start + length;) {
    const id = frame[pos++]!;
    if (id === MESSAGE_EXPIRY_INTERVAL) return pos;
    if (id === USER_PROPERTY) {
      pos += 2 + frame.readUInt16BE(pos);
      pos += 2 + frame.readUInt16BE(pos);
      continue;
    }
    const size = PROPERTY_SIZES[id];
    if (size === undefined) return -1; // not a valid PUBLISH property: leave the frame alone
    if (size === -1) pos = readVarInt(frame, pos)[1];
    else if (size === -2) pos += 2 + frame.readUInt16BE(pos);
    else pos += size;
  }
  return -1;
}

/**
 * The frame to send after it waited `waitedMs`: undefined if its Message Expiry Interval ran out,
 * else a copy with the interval lowered by the whole seconds waited (the frame itself if unchanged).
 */
export function ageFrame(frame: Buffer, waitedMs: number): Buffer | undefined {
  const offset = messageExpiryOffset(frame);
  if (offset < 0) return frame;
  const left = frame.readUInt32BE(offset) - Math.floor(waitedMs / 1000);
  if (waitedMs >= frame.readUInt32BE(offset) * 1000) return undefined;
  if (left === frame.readUInt32BE(offset)) return frame;
  const copy = Buffer.from(frame);
  copy.writeUInt32BE(left, offset);
  return copy;
}
