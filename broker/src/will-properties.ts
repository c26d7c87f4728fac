/** The Will Delay Interval belongs to the CONNECT, never to the will PUBLISH. */
import type { PublishPacket } from 'aedes';

/**
 * aedes 2.0.0-beta.1 (upstream #1098) publishes a will with its Will Delay Interval among the
 * PUBLISH properties; that property is only valid in a CONNECT, and strict MQTT 5 clients (Paho)
 * reject the message as malformed. Both will paths go through `Aedes#publish`, where MqttBroker's
 * publish gate (aedes-internals.ts createGatedAedes) calls this.
 */
export function withoutWillDelay(packet: PublishPacket): PublishPacket {
  const properties = (packet as { properties?: Record<string, unknown> }).properties;
  if (properties?.willDelayInterval === undefined) return packet;
  const rest = { ...properties };
  delete rest.willDelayInterval;
  return { ...packet, properties: rest };
}
