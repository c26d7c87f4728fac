/**
 * Each recorded camera's motion as a Home Assistant `binary_sensor` (device class motion), on the
 * same device as the camera entity the publisher announces (same device identifiers), with its
 * state read from the retained event topic. Announced when a camera is first seen and again when
 * Home Assistant sends its birth message; with HA_DISCOVERY=false an empty retained config removes
 * a sensor an earlier run announced.
 */
import { createRequire } from 'node:module';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { haMotionDiscoveryTopic, haNodeId, type Topics } from '@camqtt/wire';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export interface MotionHomeAssistantOptions {
  topics: Topics;
  /** HA_DISCOVERY. */
  enabled: boolean;
  discoveryPrefix: string;
  /** A retained topic saying whether the recorder is up (its last will says not), with the template reading it. */
  recorderAvailability?: { topic: string; template: string };
}

export function motionDiscoveryConfig(options: MotionHomeAssistantOptions, camera: string): Record<string, unknown> {
  const { topics } = options;
  // The publisher's camera entity uses this id for its device (services/publisher/src/home-assistant.ts).
  const deviceId = `${haNodeId(topics.prefix)}_${camera}`;
  return {
    name: 'Motion',
    unique_id: `${deviceId}_motion`,
    device_class: 'motion',
    state_topic: topics.event(camera),
    value_template: "{{ 'ON' if value_json.state == 'start' else 'OFF' }}",
    // The event's fields (id, start, end, score) as the sensor's attributes.
    json_attributes_topic: topics.event(camera),
    availability: [
      { topic: topics.status(camera), value_template: "{{ 'online' if value_json.online else 'offline' }}" },
      ...(options.recorderAvailability
        ? [{ topic: options.recorderAvailability.topic, value_template: options.recorderAvailability.template }]
        : []),
    ],
    availability_mode: 'all',
    device: { identifiers: [deviceId] },
    origin: { name: 'camqtt', sw_version: version },
  };
}

export class MotionHomeAssistant {
  private readonly cameras = new Set<string>();
  private readonly birthTopic: string;

  constructor(
    private readonly client: MqttClient,
    private readonly options: MotionHomeAssistantOptions,
    private readonly log: Logger,
  ) {
    this.birthTopic = `${options.discoveryPrefix}/status`;
  }

  start(): void {
    this.client.on('connect', this.onConnect);
    this.client.on('message', this.onMessage);
    if (this.client.connected) this.onConnect();
  }

  stop(): void {
    this.client.off('connect', this.onConnect);
    this.client.off('message', this.onMessage);
  }

  /** A recorded camera, announced the first time it is seen. */
  camera(camera: string): void {
    if (this.cameras.has(camera)) return;
    this.cameras.add(camera);
    if (this.client.connected) this.announce(camera);
  }

  /** A camera that is gone: an empty retained config removes its sensor. */
  forget(camera: string): void {
    if (!this.cameras.delete(camera)) return;
    const topic = haMotionDiscoveryTopic(this.options.discoveryPrefix, this.options.topics.prefix, camera);
    this.client.publish(topic, '', { qos: 1, retain: true });
  }

  private readonly onConnect = (): void => {
    if (this.options.enabled)
      this.client.subscribe(this.birthTopic, { qos: 1 }, (error, granted) => {
        if (error || granted?.[0]?.qos === 128)
          this.log.warn(
            { topic: this.birthTopic },
            "cannot subscribe to Home Assistant's birth messages; motion sensors are announced on connect only",
          );
      });
    for (const camera of this.cameras) this.announce(camera);
  };

  private readonly onMessage = (topic: string, payload: Buffer): void => {
    if (topic !== this.birthTopic || !this.options.enabled || payload.toString('utf8') !== 'online') return;
    for (const camera of this.cameras) this.announce(camera);
  };

  private announce(camera: string): void {
    const topic = haMotionDiscoveryTopic(this.options.discoveryPrefix, this.options.topics.prefix, camera);
    // An empty retained config removes the sensor an earlier run announced.
    const payload = this.options.enabled ? JSON.stringify(motionDiscoveryConfig(this.options, camera)) : '';
    this.client.publish(topic, payload, { qos: 1, retain: true }, (error) => {
      if (error) this.log.warn({ topic, error: error.message }, 'Home Assistant motion sensor config not sent');
    });
  }
}
