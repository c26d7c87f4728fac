/**
 * The client's MQTT 5 Maximum Packet Size: the broker must not send it a larger packet, and drops
 * the message as if it had been delivered instead [MQTT-3.1.2-24] [MQTT-3.1.2-25]. Aedes
 * 2.0.0-beta.1 stores the value but does not apply it (documented as advisory).
 */
import type { AedesPublishPacket, Client } from 'aedes';
import mqttPacket from 'mqtt-packet';

/** Bytes of a whole packet whose remaining length is `remaining` (fixed header included). */
export function wholePacketBytes(remaining: number): number {
  return 1 + (remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4) + remaining;
}

/**
 * Bytes of the MQTT 5 PUBLISH for `packet`, counting a packet id as if QoS > 0 (a message right
 * at the limit that goes out at QoS 0 is dropped 2 bytes early). Only the header is encoded.
 */
export function publishPacketBytes(packet: AedesPublishPacket): number {
  const header = mqttPacket.generate(
    {
      cmd: 'publish',
      topic: packet.topic,
      payload: Buffer.alloc(0),
      qos: 1,
      messageId: 1,
      retain: false,
      dup: false,
      properties: packet.properties,
    },
    { protocolVersion: 5 },
  );
  let end = 1;
  while (header[end]! & 0x80) end++;
  const payload = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
  return wholePacketBytes(header.length - (end + 1) + payload);
}

/** False when `client` is an MQTT 5 client that set a Maximum Packet Size `packet` would exceed. */
export function fitsClientMaximum(client: Client, packet: AedesPublishPacket): boolean {
  if (client.version !== 5 || client.maximumPacketSize === undefined) return true;
  return publishPacketBytes(packet) <= client.maximumPacketSize;
}
