/**
 * The publisher service for one camera: wires its parts (MQTT client, source, pipeline, frame
 * publisher, status, control, health file, Home Assistant) and starts and stops them.
 * Loaded by main.ts only after the configuration checked out, so a wrong setting is reported
 * even where the OpenCV addon cannot load.
 */
import './quiet-opencv-loader.js';
import type { MqttClient } from 'mqtt';
import { CAMERA_CLIENT_ID_PREFIX, Topics, offlineStatus, redactCredentials, type ControlLimits } from '@camqtt/wire';
import {
  connectMqtt,
  explainConnectionError,
  isProtocolFallback,
  mqttClientOptions,
  protocolVersionOf,
  waitAtMost,
} from '@camqtt/service-kit';
import type { Logger } from 'pino';
import { ControlHandler } from './control-handler.js';
import { FramePipeline } from './frame-pipeline.js';
import { FramePublisher } from './frame-publisher.js';
import { HealthFile } from './health-file.js';
import { HomeAssistantLink } from './home-assistant.js';
import { LiveSettings } from './live-settings.js';
import type { PublisherConfig } from './publisher-settings.js';
import { CaptureSource } from './sources/capture-source.js';
import { FileSource } from './sources/file-source.js';
import { type FrameSource, sourceKind } from './sources/frame-source.js';
import { TestPatternSource } from './sources/test-pattern-source.js';
import { sourceRetryFromEnv } from './retry-backoff.js';
import { StatusReporter, fpsCapWarning } from './status-reporter.js';

export class CameraService {
  private readonly settings: LiveSettings;
  private client: MqttClient | undefined;
  private pipeline: FramePipeline | undefined;
  private framePublisher: FramePublisher | undefined;
  private status: StatusReporter | undefined;
  private control: ControlHandler | undefined;
  private health: HealthFile | undefined;
  private homeAssistant: HomeAssistantLink | undefined;

  constructor(
    private readonly config: PublisherConfig,
    private readonly log: Logger,
  ) {
    this.settings = new LiveSettings({
      fps: config.VIDEO_FPS,
      quality: config.JPEG_QUALITY,
      width: config.VIDEO_WIDTH,
      height: config.VIDEO_HEIGHT,
      paused: false,
    });
  }

  start(): void {
    const { config, log, settings } = this;
    const camera = config.CAMERA_ID;
    const topics = new Topics(config.TOPIC_PREFIX);
    const clientId = `${CAMERA_CLIENT_ID_PREFIX}${camera}`;
    const options = mqttClientOptions(
      config,
      {
        clientId,
        will: { topic: topics.status(camera), payload: Buffer.from(JSON.stringify(offlineStatus(camera))), qos: 1, retain: true },
      },
      camera,
    );
    const client = connectMqtt(config.MQTT_URL, options, config.MQTT_PROTOCOL_VERSION, log);
    this.client = client;
    const url = redactCredentials(config.MQTT_URL);
    // Only a link that was up is lost: the first connect may take a second try (MQTT 5 -> 3.1.1).
    let everConnected = false;
    client.on('connect', () => {
      everConnected = true;
      log.info({ url, clientId, protocolVersion: protocolVersionOf(client) }, 'connected');
    });
    client.on('offline', () => everConnected && log.warn({ url }, 'disconnected; reconnecting'));
    // Without a listener an 'error' event would kill the process; MQTT.js retries by itself.
    client.on(
      'error',
      (error) =>
        isProtocolFallback(error) ||
        log.warn({ url, error: error.message, problem: explainConnectionError(error, config.MQTT_URL, options.username) }, 'mqtt error'),
    );

    const source = this.createSource();
    const fpsCap = config.MQTT_MAX_MESSAGES_PER_S > 0 ? config.MQTT_MAX_MESSAGES_PER_S : Infinity;
    const framePublisher = new FramePublisher(client, topics.frame(camera), config.FRAME_EXPIRY_S, log);
    this.framePublisher = framePublisher;
    const pipeline = new FramePipeline(
      source,
      settings,
      framePublisher,
      {
        camera,
        fpsCap,
        passthrough: config.CAPTURE_PASSTHROUGH,
        overlay: config.VIDEO_OVERLAY,
        snapshotQuality: config.SNAPSHOT_QUALITY,
        maxPayloadBytes: config.MQTT_MAX_PAYLOAD_BYTES,
        // Test-only, not a user setting (hence not in the settings table): see retry-backoff.ts.
        sourceRetry: sourceRetryFromEnv(process.env.CAMQTT_TEST_SOURCE_RETRY_MS),
      },
      log,
    );
    this.pipeline = pipeline;
    const status = new StatusReporter({
      client,
      topic: topics.status(camera),
      camera,
      intervalS: config.STATUS_INTERVAL_S,
      fpsCap,
      pipeline,
      framePublisher,
      settings,
      log,
    });
    this.status = status;
    this.control = new ControlHandler({
      client,
      topic: topics.control(camera),
      settings,
      pipeline,
      status,
      limits: () => this.controlLimits(),
      log,
    });
    const capWarning = (fps: number): void => {
      const warning = fpsCapWarning(fps, fpsCap);
      if (warning) log.warn({ fps, cap: fpsCap }, warning);
    };
    capWarning(config.VIDEO_FPS);
    settings.on('change', (changed) => {
      if (changed.fps !== undefined) capWarning(changed.fps);
    });

    if (config.PUBLISHER_HEALTH_FILE) this.health = new HealthFile(config.PUBLISHER_HEALTH_FILE, client, log);
    this.homeAssistant = new HomeAssistantLink(
      client,
      {
        camera,
        topics,
        enabled: config.HA_DISCOVERY,
        discoveryPrefix: config.HA_DISCOVERY_PREFIX,
        imageIntervalS: config.HA_IMAGE_INTERVAL_S,
        pageUrl: config.WEB_PUBLIC_URL || `http://localhost:${config.WEB_PORT}`,
      },
      () => framePublisher.latest,
      log,
    );

    framePublisher.start();
    this.health?.start();
    this.homeAssistant.start();
    status.start();
    this.control.start();
    pipeline.start();
    log.info(
      {
        camera,
        source: source.description,
        width: config.VIDEO_WIDTH,
        height: config.VIDEO_HEIGHT,
        fps: config.VIDEO_FPS,
        quality: config.JPEG_QUALITY,
        url,
      },
      'publisher started',
    );
  }

  /** Releases the source, marks the camera offline and disconnects, within about `budgetMs`. */
  async stop(budgetMs: number): Promise<void> {
    const deadline = performance.now() + budgetMs;
    const left = (): number => Math.max(0, deadline - performance.now());
    this.control?.stop();
    this.health?.stop();
    this.homeAssistant?.stop();
    if (this.pipeline && !(await this.pipeline.stop(left() * 0.5))) {
      this.log.warn('source still busy; leaving it to the process exit');
    }
    this.status?.stop();
    this.framePublisher?.stop();
    await this.status?.publishOffline(left() * 0.6);
    const client = this.client;
    if (client) {
      await waitAtMost(client.endAsync(), left());
    }
  }

  /**
   * What a command may ask for: VIDEO_MAX_*, and never more than the source's own size (scaling
   * up costs CPU and memory and shows nothing more). The test pattern is drawn at whatever size
   * is asked, so its own size is the configured VIDEO_WIDTH x VIDEO_HEIGHT.
   */
  private controlLimits(): ControlLimits {
    const { config } = this;
    const info = this.pipeline?.sourceInfo;
    const source =
      sourceKind(config.CAMERA_SOURCE) === 'testsrc'
        ? { width: config.VIDEO_WIDTH, height: config.VIDEO_HEIGHT }
        : info && { width: Math.round(info.width), height: Math.round(info.height) };
    const maxWidth = Math.min(config.VIDEO_MAX_WIDTH, source?.width ?? Infinity);
    const maxHeight = Math.min(config.VIDEO_MAX_HEIGHT, source?.height ?? Infinity);
    const bySource = source !== undefined && (source.width < config.VIDEO_MAX_WIDTH || source.height < config.VIDEO_MAX_HEIGHT);
    const byConfig = source === undefined || source.width > config.VIDEO_MAX_WIDTH || source.height > config.VIDEO_MAX_HEIGHT;
    const sizeLimit = [bySource ? "the source's size" : '', byConfig ? 'VIDEO_MAX_WIDTH x VIDEO_MAX_HEIGHT' : '']
      .filter(Boolean)
      .join(' and ');
    return { maxWidth, maxHeight, maxFps: config.VIDEO_MAX_FPS, sizeLimit };
  }

  private createSource(): FrameSource {
    const { CAMERA_SOURCE: source, CAMERA_ID: camera } = this.config;
    const current = (): { width: number; height: number; fps: number } => this.settings.value;
    switch (sourceKind(source)) {
      case 'testsrc':
        return new TestPatternSource(current, () => this.settings.value.fps, camera, this.config.TESTSRC_LARGE_CLOCK);
      case 'device':
        return new CaptureSource(source, 'device', current, this.config.CAPTURE_PASSTHROUGH);
      case 'stream':
        return new CaptureSource(source, 'stream', current, this.config.CAPTURE_PASSTHROUGH);
      case 'file':
        return new FileSource(source, () => this.settings.value.fps, this.config.CAPTURE_PASSTHROUGH, this.config.VIDEO_LOOP);
    }
  }
}
