/**
 * Packets the broker writes itself rather than Aedes, when it ends a connection and says why:
 * CONNACK refusals and the MQTT 5 DISCONNECT with a reason code [MQTT-4.13.2-1].
 */

/** CONNACK, return code 0x01: unacceptable protocol version (every protocol level understands it). */
export const CONNACK_BAD_LEVEL = Buffer.from([0x20, 0x02, 0x00, 0x01]);

/** MQTT 5 reason codes the broker sends itself (section 2.4). */
export const QUOTA_EXCEEDED = 0x97;
export const RECEIVE_MAXIMUM_EXCEEDED = 0x93;
export const PACKET_TOO_LARGE = 0x95;
export const IMPLEMENTATION_SPECIFIC_ERROR = 0x83;

/** An MQTT 5 CONNACK refusing the login with `reasonCode` (no session present, no properties). */
export function connackRefusal(reasonCode: number): Buffer {
  return Buffer.from([0x20, 0x03, 0x00, reasonCode, 0x00]);
}

/** An MQTT 5 DISCONNECT with `reasonCode` and no properties. */
export function disconnectPacket(reasonCode: number): Buffer {
  return Buffer.from([0xe0, 0x02, reasonCode, 0x00]);
}
