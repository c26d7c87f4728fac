/**
 * The camera in Home Assistant without any setup there (HA_DISCOVERY): a retained MQTT discovery
 * config for a `camera` entity, available while the camera's status says online (the last will
 * says offline), showing a retained still that is refreshed every HA_IMAGE_INTERVAL_S. Home
 * Assistant's MQTT camera shows the last image of its topic, so it gets stills, not the 30 fps of
 * frames. The config is sent again when Home Assistant announces itself (its birth message), and
 * cleared when discovery is turned off, which removes the entity.
 */
import { createRequire } from 'node:module';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { haDiscoveryTopic, haNodeId, type Topics } from '@camqtt/wire';
import { protocolVersionOf } from '@camqtt/service-kit';

/** How often to look for the first frame after an announcement. */
const FIRST_IMAGE_RETRY_MS = 250;
const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

export interface HomeAssistantOptions {
  camera: string;
  topics: Topics;
  /** HA_DISCOVERY: false clears a config sent before. */
  enabled: boolean;
  discoveryPrefix: string;
  imageIntervalS: number;
  /** The viewer page, for the device's link in Home Assistant. */
  pageUrl: string;
}

export function discoveryConfig(options: HomeAssistantOptions): Record<string, unknown> {
  const { camera, topics } = options;
  const id = `${haNodeId(topics.prefix)}_${camera}`;
  return {
    name: null,
    unique_id: id,
    topic: topics.image(camera),
    availability_topic: topics.status(camera),
    availability_template: "{{ 'online' if value_json.online else 'offline' }}",
    device: {
      identifiers: [id],
      name: camera,
      manufacturer: 'camqtt',
      model: 'camqtt camera',
      sw_version: version,
      configuration_url: `${options.pageUrl.replace(/\/$/, '')}/#camera=${camera}`,
    },
    origin: { name: 'camqtt', sw_version: version },
  };
}

export class HomeAssistantLink {
  private timer: NodeJS.Timeout | undefined;
  private firstImageTimer: NodeJS.Timeout | undefined;
  private lastImage: Uint8Array | undefined;
  private readonly configTopic: string;
  private readonly birthTopic: string;

  constructor(
    private readonly client: MqttClient,
    private readonly options: HomeAssistantOptions,
    /** The newest frame the camera sent, if any. */
    private readonly latestFrame: () => Uint8Array | undefined,
    private readonly log: Logger,
  ) {
    this.configTopic = haDiscoveryTopic(options.discoveryPrefix, options.topics.prefix, options.camera);
    this.birthTopic = `${options.discoveryPrefix}/status`;
  }

  start(): void {
    this.client.on('connect', this.onConnect);
    if (!this.options.enabled) return;
    this.client.on('message', this.onMessage);
    this.timer = setInterval(() => this.publishImage(), this.options.imageIntervalS * 1000);
  }

  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.firstImageTimer);
    this.timer = undefined;
    this.client.off('connect', this.onConnect);
    this.client.off('message', this.onMessage);
  }

  private readonly onConnect = (): void => {
    if (!this.options.enabled) {
      // An empty retained config removes the entity that an earlier run announced; the still goes too.
      this.client.publish(this.configTopic, '', { qos: 1, retain: true });
      this.client.publish(this.options.topics.image(this.options.camera), '', { qos: 1, retain: true });
      return;
    }
    this.client.subscribe(this.birthTopic, { qos: 1 }, (error, granted) => {
      if (error || granted?.[0]?.qos === 128)
        this.log.warn({ topic: this.birthTopic }, "cannot subscribe to Home Assistant's birth messages; discovery is sent on connect only");
    });
    this.announce();
  };

  private readonly onMessage = (topic: string, payload: Buffer): void => {
    if (topic !== this.birthTopic || payload.toString('utf8') !== 'online') return;
    this.log.info('Home Assistant came online: announcing the camera again');
    this.announce();
  };

  private announce(): void {
    this.client.publish(this.configTopic, JSON.stringify(discoveryConfig(this.options)), { qos: 1, retain: true }, (error) => {
      if (error) this.log.warn({ topic: this.configTopic, error: error.message }, 'Home Assistant discovery config not sent');
    });
    this.lastImage = undefined;
    this.publishFirstImage();
  }

  /** A still as soon as there is a frame, rather than a whole interval later. */
  private publishFirstImage(): void {
    clearTimeout(this.firstImageTimer);
    this.publishImage();
    if (this.lastImage === undefined && this.timer) this.firstImageTimer = setTimeout(() => this.publishFirstImage(), FIRST_IMAGE_RETRY_MS);
  }

  /** The newest frame as the retained still, unless it is the one already there. */
  private publishImage(): void {
    const frame = this.latestFrame();
    if (!frame || frame === this.lastImage || !this.client.connected) return;
    this.lastImage = frame;
    const properties = protocolVersionOf(this.client) === 5 ? { properties: { contentType: 'image/jpeg' } } : {};
    this.client.publish(this.options.topics.image(this.options.camera), Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), {
      qos: 1,
      retain: true,
      ...properties,
    });
  }
}
