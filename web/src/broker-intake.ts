/**
 * The relay's MQTT side, its intake from the broker: subscribes to every camera's frames,
 * statuses, command answers, and the recorder's motion events and states (handed to the page), keeps the camera directory from the retained statuses, drops
 * frames that are not complete JPEGs or arrive seconds late, and hands each good frame to the
 * frame hub. It also sends the control commands the API accepted.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  checkJpeg,
  epochNowMs,
  parseCameraStatus,
  readFrameMeta,
  redactCredentials,
  redactStatus,
  type BrokerLink,
  type ControlCommand,
  type Topics,
} from '@camqtt/wire';
import {
  brokerAddress,
  connectMqtt,
  explainConnectionError,
  isProtocolFallback,
  protocolVersionOf,
  type MqttProtocolChoice,
} from '@camqtt/service-kit';
import type { CameraDirectory } from './camera-directory.js';
import { ControlAnswers, type CommandAnswer } from './control-answers.js';
import type { FrameHub } from './frame-hub.js';
import { FrameSubscriptions, type WatchedCameras } from './frame-subscriptions.js';
import { PerKeyRateLimit } from '@camqtt/service-kit';
import type { RelayMetrics } from './relay-metrics.js';
import { StaleFrameFilter } from './stale-frame-filter.js';

/** One warning per camera per minute about bad payloads, however many arrive. */
const BAD_PAYLOAD_LOG_WINDOW_MS = 60_000;

export interface BrokerIntakeOptions {
  url: string;
  clientOptions: IClientOptions;
  /** MQTT_PROTOCOL_VERSION. */
  protocol: MqttProtocolChoice;
  topics: Topics;
  directory: CameraDirectory;
  hub: FrameHub;
  metrics: RelayMetrics;
  log: Logger;
  /** Told whenever the link to the broker changes (connected, lost, refused). */
  onLinkChange?: (link: BrokerLink) => void;
  /** How long a control command waits for the camera's answer; default ANSWER_TIMEOUT_MS (tests lower it). */
  answerTimeoutMs?: number;
  /** How long a camera's frames may stay late before that is its new normal; default 3 s (tests lower it). */
  staleResetMs?: number;
  /** A command on the control topic of a camera watched with watchControl (a browser camera's). */
  onControl?: (camera: string, payload: Buffer) => void;
  /** A message of the recorder: a motion event, or its state for a camera (see recording.ts). */
  onRecorder?: (camera: string, kind: 'event' | 'recording', payload: Buffer) => void;
  /** WEB_FRAMES_WATCHED_ONLY: take only the frames of the cameras given to watchFrames. */
  framesWatchedOnly?: boolean;
}

export class BrokerIntake {
  private client: MqttClient | undefined;
  private readonly badFrameLog = new PerKeyRateLimit(BAD_PAYLOAD_LOG_WINDOW_MS);
  private readonly badStatusLog = new PerKeyRateLimit(BAD_PAYLOAD_LOG_WINDOW_MS);
  private readonly staleFrameLog = new PerKeyRateLimit(BAD_PAYLOAD_LOG_WINDOW_MS);
  private readonly staleFrames: StaleFrameFilter;
  private linkState: BrokerLink;
  private readonly answers = new ControlAnswers();
  /** Cameras whose control topic the relay reads: the browser cameras it publishes for. */
  private readonly watchedControl = new Set<string>();
  private readonly frames: FrameSubscriptions;

  constructor(private readonly options: BrokerIntakeOptions) {
    this.frames = new FrameSubscriptions(options.topics, options.framesWatchedOnly ?? false, options.log);
    this.linkState = { connected: false, broker: brokerAddress(options.url), problem: 'connecting to the broker' };
    this.staleFrames = new StaleFrameFilter(options.staleResetMs);
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** The link to the broker as the page and /healthz show it. */
  get link(): BrokerLink {
    return this.linkState;
  }

  start(): void {
    const { url: rawUrl, clientOptions, log } = this.options;
    // MQTT_URL may carry user:password@; only the redacted form is logged.
    const url = redactCredentials(rawUrl);
    // We subscribe on every connect ourselves: a SUBSCRIBE sent before the first connect succeeds
    // is dropped with the failed connection, and MQTT.js only resubscribes what was acknowledged.
    const client = connectMqtt(rawUrl, { ...clientOptions, resubscribe: false }, this.options.protocol, log);
    this.client = client;
    const broker = this.linkState.broker;
    client.on('connect', () => {
      log.info({ broker, clientId: clientOptions.clientId, protocolVersion: protocolVersionOf(client) }, 'connected to the MQTT broker');
      this.setLink({ connected: true, broker });
      this.subscribe(client);
    });
    client.on('offline', () => {
      if (!this.linkState.connected) return;
      log.warn({ broker }, 'MQTT broker connection lost, reconnecting');
      this.setLink({ connected: false, broker, problem: 'connection to the broker lost, reconnecting' });
    });
    client.on('error', (error) => {
      if (isProtocolFallback(error)) return;
      const problem = explainConnectionError(error, url, clientOptions.username);
      // A broker that stays away costs one line, not one per retry.
      if (problem === this.linkState.problem) return;
      log.warn({ broker, err: error }, `MQTT: ${problem}`);
      this.setLink({ connected: false, broker, problem });
    });
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.properties?.correlationData));
  }

  /** Frames are QoS 0 (a lost frame is replaced by the next); statuses QoS 1 (retained, rare). */
  private subscribe(client: MqttClient): void {
    const { topics, log } = this.options;
    // Answers to control commands (MQTT 5); an older ACL without the rule refuses just that one.
    const answers = protocolVersionOf(client) === 5 ? { [topics.all('answer')]: { qos: 1 as const } } : {};
    const controls = Object.fromEntries([...this.watchedControl].map((camera) => [topics.control(camera), { qos: 1 as const }]));
    const frames = Object.fromEntries(this.frames.filtersForNewConnection().map((filter) => [filter, { qos: 0 as const }]));
    const wanted = {
      ...frames,
      [topics.all('status')]: { qos: 1 as const },
      [topics.all('event')]: { qos: 1 as const },
      [topics.all('recording')]: { qos: 1 as const },
      ...answers,
      ...controls,
    };
    client.subscribe(wanted, (error, granted) => {
      // A lost connection is retried on the next connect; a refusal (qos 128) is an ACL problem.
      if (error) log.error({ err: error }, 'MQTT subscribe failed');
      const refused = (granted ?? []).filter((grant) => grant.qos === 128).map((grant) => grant.topic);
      if (refused.length > 0)
        log.error(
          { refused },
          "the broker refused a subscription: the relay account's ACL needs `topic read` for each refused topic (the recorder's event and recording topics feed the page's motion badges and recorder state)",
        );
    });
  }

  /** The cameras viewers watch now (what WEB_FRAMES_WATCHED_ONLY subscribes to). */
  watchFrames(cameras: WatchedCameras): void {
    if (!this.options.framesWatchedOnly) return;
    this.frames.watch(cameras, this.client);
    if (cameras === 'all') return;
    const { hub } = this.options;
    for (const camera of [...hub.cameras()]) if (!cameras.has(camera)) hub.dropLatest(camera);
  }

  /**
   * Sends a validated command to `<prefix>/<camera>/control` (QoS 1: a command is rare and should
   * arrive). Throws when the broker is not connected rather than queueing a stale command.
   */
  async sendControl(camera: string, command: ControlCommand): Promise<CommandAnswer | undefined> {
    const client = this.client;
    if (!client?.connected) throw new Error('not connected to the MQTT broker');
    const { topics } = this.options;
    if (protocolVersionOf(client) !== 5) {
      await client.publishAsync(topics.control(camera), JSON.stringify(command), { qos: 1 });
      return undefined;
    }
    const { correlationData, answer } = this.answers.expect(this.options.answerTimeoutMs);
    await client.publishAsync(topics.control(camera), JSON.stringify(command), {
      qos: 1,
      properties: { responseTopic: topics.answer(camera), correlationData },
    });
    return await answer;
  }

  /** Publishes for a browser camera; throws when the broker is not connected (a frame is not worth queueing). */
  async publish(topic: string, payload: Buffer | string, options: { qos: 0 | 1; retain?: boolean }): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new Error('not connected to the MQTT broker');
    await client.publishAsync(topic, payload, options);
  }

  /** Starts reading `camera`'s control topic (again after every reconnect) until unwatchControl. */
  watchControl(camera: string): void {
    this.watchedControl.add(camera);
    const client = this.client;
    if (client?.connected)
      client.subscribe(this.options.topics.control(camera), { qos: 1 }, (error, granted) => this.checkControlGrant(error, granted));
  }

  unwatchControl(camera: string): void {
    if (!this.watchedControl.delete(camera)) return;
    if (this.client?.connected) this.client.unsubscribe(this.options.topics.control(camera));
  }

  private checkControlGrant(error: Error | null | undefined, granted: { qos: number; topic: string }[] | undefined): void {
    if (error) this.options.log.error({ err: error }, 'MQTT subscribe to a browser camera control topic failed');
    const refused = (granted ?? []).filter((grant) => grant.qos === 128).map((grant) => grant.topic);
    if (refused.length > 0)
      this.options.log.error(
        { refused },
        "the broker refused a browser camera's control topic: the relay account needs `topic read <prefix>/+/control`",
      );
  }

  private setLink(link: BrokerLink): void {
    this.linkState = link;
    this.options.onLinkChange?.(link);
  }

  async stop(): Promise<void> {
    this.answers.clear();
    this.frames.stop();
    await this.client?.endAsync();
    this.client = undefined;
  }

  private onMessage(topic: string, payload: Buffer, correlationData: Buffer | undefined): void {
    const parsed = this.options.topics.parse(topic);
    // A frame already on its way when its camera's last viewer left is not kept.
    if (parsed?.kind === 'frame') {
      if (this.frames.wants(parsed.camera)) this.onFrame(parsed.camera, payload);
      else this.options.metrics.camera(parsed.camera).received(payload.length);
    } else if (parsed?.kind === 'status') this.onStatus(parsed.camera, payload);
    else if (parsed?.kind === 'answer') this.answers.deliver(payload, correlationData);
    else if (parsed?.kind === 'event' || parsed?.kind === 'recording') this.options.onRecorder?.(parsed.camera, parsed.kind, payload);
    else if (parsed?.kind === 'control' && this.watchedControl.has(parsed.camera)) this.options.onControl?.(parsed.camera, payload);
  }

  private onFrame(camera: string, payload: Buffer): void {
    const { metrics, hub, log } = this.options;
    const counters = metrics.camera(camera);
    counters.received(payload.length);
    const check = checkJpeg(payload);
    if (!check.ok) {
      counters.dropped('invalid_payload');
      const { allowed, suppressed } = this.badFrameLog.take(camera);
      if (allowed)
        log.warn(
          { camera, bytes: payload.length, reason: check.reason, suppressedSinceLastLog: suppressed },
          'dropped a frame that is not a complete JPEG',
        );
      return;
    }
    const receivedAt = epochNowMs();
    // A plain JPEG without camqtt metadata is relayed as well, on time by definition.
    const meta = readFrameMeta(payload);
    const staleBy = meta ? this.staleFrames.staleBy(camera, meta.captureTime, receivedAt) : 0;
    if (staleBy > 0) {
      counters.dropped('stale');
      const { allowed, suppressed } = this.staleFrameLog.take(camera);
      if (allowed)
        log.warn(
          { camera, seq: meta?.seq, lateMs: Math.round(staleBy), suppressedSinceLastLog: suppressed },
          'dropped a frame that arrived seconds late in a burst (held up on the way); viewers go straight to live',
        );
      return;
    }
    hub.deliver(camera, payload, receivedAt);
  }

  private onStatus(camera: string, payload: Buffer): void {
    const { directory, metrics, log } = this.options;
    if (payload.length === 0) {
      directory.remove(camera);
      this.options.hub.forgetCamera(camera);
      this.staleFrames.forget(camera);
      metrics.forgetCamera(camera);
    } else {
      const parsed = parseCameraStatus(payload);
      if ('invalid' in parsed) {
        const { allowed, suppressed } = this.badStatusLog.take(camera);
        if (allowed) log.warn({ camera, reason: parsed.invalid, suppressedSinceLastLog: suppressed }, 'ignored an invalid camera status');
        return;
      }
      // The topic names the camera; a status body that disagrees does not get to move it. Served
      // by /api/cameras and to every viewer: credentials a publisher left in it go.
      directory.update(redactStatus({ ...parsed.status, camera }));
    }
    metrics.cameras.set(directory.size);
  }
}
