/**
 * Connects the way every camqtt client does (MQTT_PROTOCOL_VERSION): MQTT 5 where the broker
 * speaks it, else MQTT 3.1.1. With `auto` the first CONNECT says 5; a broker that only speaks
 * 3.1.1 answers it with "unacceptable protocol version", and the client connects again as 3.1.1
 * (one log line) and stays there. The choice holds for the client's life: a broker does not
 * forget a protocol version between reconnects.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';

export type MqttProtocolChoice = 'auto' | '5' | '4';

/** CONNACK codes for a protocol version the broker does not speak: 3.1.1 return code 1, MQTT 5 reason 0x84. */
const UNSUPPORTED_PROTOCOL = new Set([1, 0x84]);
/** Errors the fallback has dealt with: not worth a warning or a problem on the page. */
const fallbackErrors = new WeakSet<Error>();

interface Logged {
  info(details: object, message: string): void;
}

export function connectMqtt(url: string, options: IClientOptions, choice: MqttProtocolChoice, log: Logged): MqttClient {
  const client = connect(url, { ...options, protocolVersion: choice === '4' ? 4 : 5 });
  if (choice !== 'auto') return client;
  const fallBack = (error: Error & { code?: unknown }): void => {
    if (client.options.protocolVersion !== 5 || !UNSUPPORTED_PROTOCOL.has(error.code as number)) return;
    fallbackErrors.add(error);
    client.off('error', fallBack);
    log.info({ reason: error.message }, 'the broker does not speak MQTT 5: using MQTT 3.1.1');
    client.options.protocolVersion = 4;
    // MQTT.js gives up after a refused CONNECT unless reconnectOnConnackError is set, which it
    // reads right after this listener returns. Set for this one refusal only: a wrong password
    // must not be retried every second. (Calling reconnect() here instead raced MQTT.js's own
    // reconnect timer, which dropped the new connection a second later.)
    const before = client.options.reconnectOnConnackError;
    client.options.reconnectOnConnackError = true;
    queueMicrotask(() => {
      client.options.reconnectOnConnackError = before;
    });
  };
  // First of the error listeners, so later ones can ask isProtocolFallback().
  client.prependListener('error', fallBack);
  client.once('connect', () => client.off('error', fallBack));
  return client;
}

/** Whether `error` was the broker refusing MQTT 5, already answered by falling back to 3.1.1. */
export function isProtocolFallback(error: Error): boolean {
  return fallbackErrors.has(error);
}

/** The protocol version of the client's current connection (5 or 4). */
export function protocolVersionOf(client: MqttClient): number {
  return client.options.protocolVersion ?? 4;
}
