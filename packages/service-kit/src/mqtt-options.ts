/**
 * MQTT.js client options every camqtt client uses, built from the MQTT_* settings, so the
 * publisher and the relay connect to a bundled or cloud broker the same way.
 */
import { rootCertificates } from 'node:tls';
import type { IClientOptions } from 'mqtt';
import { ConfigError } from './setting-values.js';
import { readSettingFile } from './load-config.js';
import type { Config } from './settings.js';

export const MQTT_SETTINGS = [
  'MQTT_URL',
  'MQTT_USERNAME',
  'MQTT_PASSWORD',
  'MQTT_PASSWORD_FILE',
  'MQTT_CA_FILE',
  'MQTT_PROTOCOL_VERSION',
] as const;
export type MqttConfig = Config<(typeof MQTT_SETTINGS)[number]>;

/** The defaults, each with the reason it is what it is. */
export const MQTT_CLIENT_DEFAULTS = {
  /** MQTT 5, which Home Assistant requires and cloud brokers speak; connectMqtt() falls back to 3.1.1 (MQTT_PROTOCOL_VERSION). */
  protocolVersion: 5,
  /** Seconds; a dead connection is noticed within 1.5x this. */
  keepalive: 15,
  /** ms between reconnect attempts: a restarted broker is back in use within about a second. */
  reconnectPeriod: 1000,
  /** ms to wait for CONNACK. */
  connectTimeout: 10_000,
  /** Frames are live video: never queue QoS 0 messages while offline, a stale frame is worthless. */
  queueQoSZero: false,
  /** Clean session: nothing is owed to us across reconnects. */
  clean: true,
  /** TLS verification stays on; there is no setting to turn it off. */
  rejectUnauthorized: true,
} as const satisfies IClientOptions;

/**
 * `defaultUsername`: the account name when MQTT_USERNAME is empty but a password is given (a
 * camera's account is named after its camera id on the bundled broker).
 */
export function mqttClientOptions(
  config: MqttConfig,
  options: Pick<IClientOptions, 'clientId' | 'will'>,
  defaultUsername?: string,
): IClientOptions {
  const password =
    config.MQTT_PASSWORD || (config.MQTT_PASSWORD_FILE ? readSettingFile('MQTT_PASSWORD_FILE', config.MQTT_PASSWORD_FILE).trim() : '');
  const username = config.MQTT_USERNAME || (password ? defaultUsername : undefined);
  if (password && !username) throw new ConfigError('MQTT_USERNAME must be set when a password is given');
  // The CA file is trusted besides the system CAs, not instead of them: docker compose names the
  // bundled broker's CA by default, and a cloud broker with a public certificate must still work
  // when MQTT_URL alone is changed. Read even for a plain URL, so a wrong path fails at start.
  const ca = config.MQTT_CA_FILE ? { ca: [...rootCertificates, readSettingFile('MQTT_CA_FILE', config.MQTT_CA_FILE)] } : {};
  return {
    ...MQTT_CLIENT_DEFAULTS,
    ...options,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...ca,
  };
}
