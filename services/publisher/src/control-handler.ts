/**
 * Listens on `<prefix>/<camera>/control` for JSON commands ({"fps":15}, {"quality":40},
 * {"width":320,"height":240}, {"paused":true}, {"snapshot":true}, or several at once, with an
 * optional "id") and applies them to the live settings; the pipeline picks them up at the next
 * frame. Every command, taken or refused, is answered in the retained status's `lastCommand`.
 * Who may send commands is the broker's business: its ACL decides who may write this topic.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { capControlCommand, type ControlCommand, type ControlLimits, decodeControlCommand, InvalidCommandError } from '@camqtt/wire';
import type { FramePipeline } from './frame-pipeline.js';
import type { LiveSettings } from './live-settings.js';
import type { SnapshotResult } from './snapshot-requests.js';
import type { CommandAnswer, StatusReporter } from './status-reporter.js';
import { TimeoutError, withTimeout } from '@camqtt/service-kit';

/** Commands are a few dozen bytes; anything much bigger is not one. */
const MAX_COMMAND_BYTES = 4096;
/** A snapshot waits at most this long for a frame (the source may be down). */
const SNAPSHOT_TIMEOUT_MS = 10_000;

export interface ControlHandlerOptions {
  client: MqttClient;
  /** `<prefix>/<camera>/control` */
  topic: string;
  settings: LiveSettings;
  pipeline: FramePipeline;
  status: StatusReporter;
  /** VIDEO_MAX_* and the source's own size, as they are when a command arrives. */
  limits: () => ControlLimits;
  log: Logger;
}

export class ControlHandler {
  private readonly client: MqttClient;
  private readonly topic: string;
  private readonly settings: LiveSettings;
  private readonly pipeline: FramePipeline;
  private readonly status: StatusReporter;
  private readonly limits: () => ControlLimits;
  private readonly log: Logger;

  constructor(options: ControlHandlerOptions) {
    this.client = options.client;
    this.topic = options.topic;
    this.settings = options.settings;
    this.pipeline = options.pipeline;
    this.status = options.status;
    this.limits = options.limits;
    this.log = options.log;
  }

  start(): void {
    this.client.on('message', this.onMessage);
    this.client.on('connect', this.subscribe);
    if (this.client.connected) this.subscribe();
  }

  stop(): void {
    this.client.off('message', this.onMessage);
    this.client.off('connect', this.subscribe);
  }

  /**
   * On every connect (clean session: a new connection has no subscriptions). MQTT.js would
   * re-subscribe by itself, but not to a subscription whose first attempt failed because the
   * broker was not up yet; a duplicate SUBSCRIBE is harmless.
   */
  private readonly subscribe = (): void => {
    this.client.subscribe(this.topic, { qos: 1 }, (error) => {
      if (error) this.log.warn({ topic: this.topic, error: error.message }, 'control subscribe failed');
    });
  };

  private readonly onMessage = (topic: string, payload: Buffer, packet: IPublishPacket): void => {
    if (topic !== this.topic) return;
    const at = Date.now();
    const answer = (value: CommandAnswer): void => this.answer(value, packet.properties);
    if (payload.length > MAX_COMMAND_BYTES) {
      this.log.warn({ bytes: payload.length }, 'control command ignored: too large');
      answer({ ok: false, error: `command over ${MAX_COMMAND_BYTES} bytes`, at });
      return;
    }
    let command: ControlCommand;
    try {
      command = decodeControlCommand(payload);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log.warn({ command: payload.toString('utf8').slice(0, 200), error: message }, 'control command ignored');
      const id = error instanceof InvalidCommandError ? error.id : undefined;
      answer({ ...(id === undefined ? {} : { id }), ok: false, error: message, at });
      return;
    }
    const { id, snapshot, ...asked } = command;
    const idPart = id === undefined ? {} : { id };
    // Capped rather than refused: the sender gets the most this camera gives, and is told so.
    const { command: patch, capped } = capControlCommand(asked, this.limits(), this.settings.value);
    if (capped.length > 0) this.log.warn({ command: asked, capped, id }, 'control command capped');
    const changed = this.settings.apply(patch);
    this.log.info({ command: patch, snapshot: snapshot === true, id, changed }, 'control command applied');
    const applied: CommandAnswer = { ...idPart, ok: true, changed: { ...changed }, ...(capped.length > 0 ? { capped } : {}), at };
    answer(applied);
    if (snapshot) void this.snapshot(applied);
  };

  /**
   * In the retained status, and (MQTT 5) on the command's response topic with its correlation
   * data, so the sender gets the answer to its own command. The broker's ACL decides where the
   * camera may answer: its own `<prefix>/<camera>/answer`.
   */
  private answer(answer: CommandAnswer, properties: IPublishPacket['properties']): void {
    this.status.answer(answer);
    const responseTopic = properties?.responseTopic;
    if (!responseTopic) return;
    const correlation = properties.correlationData ? { correlationData: properties.correlationData } : {};
    this.client.publish(
      responseTopic,
      JSON.stringify(answer),
      { qos: 1, properties: { contentType: 'application/json', ...correlation } },
      (error) => {
        if (error) this.log.warn({ responseTopic, error: error.message }, 'control answer not sent');
      },
    );
  }

  private async snapshot(answer: CommandAnswer): Promise<void> {
    const result: SnapshotResult = await withTimeout(this.pipeline.requestSnapshot(), SNAPSHOT_TIMEOUT_MS, 'snapshot').catch(
      (error: unknown) => {
        if (error instanceof TimeoutError) return { error: `no frame within ${SNAPSHOT_TIMEOUT_MS / 1000} s (source down?)` };
        throw error;
      },
    );
    // Answers the same command again, now with the snapshot's seq (or why there is none).
    this.status.answer('seq' in result ? { ...answer, snapshotSeq: result.seq } : { ...answer, ok: false, error: result.error });
  }
}
