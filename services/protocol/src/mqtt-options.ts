/**
 * MQTT.js client options every camqtt client uses, built from the MQTT_* settings, so the
 * publisher and the relay connect to a bundled or cloud broker the same way.
 */
import type { IClientOptions } from 'mqtt';
import { type Config, ConfigError, readSettingFile } from './config.js';

export const MQTT_SETTINGS = ['MQTT_URL', 'MQTT_USERNAME', 'MQTT_PASSWORD', 'MQTT_PASSWORD_FILE', 'MQTT_CA_FILE'] as const;
export type MqttConfig = Config<(typeof MQTT_SETTINGS)[number]>;

/** The defaults, each with the reason it is what it is. */
export const MQTT_CLIENT_DEFAULTS = {
  /** MQTT 3.1.1: what Aedes and every cloud broker speak. */
  protocolVersion: 4,
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

export function mqttClientOptions(config: MqttConfig, options: Pick<IClientOptions, 'clientId' | 'will'>): IClientOptions {
  const password = config.MQTT_PASSWORD || (config.MQTT_PASSWORD_FILE ? readSettingFile('MQTT_PASSWORD_FILE', config.MQTT_PASSWORD_FILE).trim() : '');
  if (password && !config.MQTT_USERNAME) throw new ConfigError('MQTT_USERNAME must be set when a password is given');
  const tls = /^(mqtts|wss):/.test(config.MQTT_URL);
  if (config.MQTT_CA_FILE && !tls) throw new ConfigError(`MQTT_CA_FILE is set but MQTT_URL is not mqtts:// or wss:// (got ${JSON.stringify(config.MQTT_URL)})`);
  return {
    ...MQTT_CLIENT_DEFAULTS,
    ...options,
    ...(config.MQTT_USERNAME ? { username: config.MQTT_USERNAME } : {}),
    ...(password ? { password } : {}),
    ...(config.MQTT_CA_FILE ? { ca: readSettingFile('MQTT_CA_FILE', config.MQTT_CA_FILE) } : {}),
  };
}
