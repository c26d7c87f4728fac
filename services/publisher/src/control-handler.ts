/**
 * Listens on `<prefix>/<camera>/control` for JSON commands ({"fps":15}, {"quality":40},
 * {"width":320,"height":240}, {"paused":true}, or several at once) and applies them to the
 * live settings; the pipeline picks them up at the next frame and the status reporter publishes
 * the new status. A bad command is logged and ignored.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { type LiveSettings, parseCommand } from './live-settings.js';

/** Commands are a few dozen bytes; anything much bigger is not one. */
const MAX_COMMAND_BYTES = 4096;

export class ControlHandler {
  constructor(
    private readonly client: MqttClient,
    private readonly topic: string,
    private readonly settings: LiveSettings,
    private readonly log: Logger,
  ) {}

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

  private readonly onMessage = (topic: string, payload: Buffer): void => {
    if (topic !== this.topic) return;
    if (payload.length > MAX_COMMAND_BYTES) {
      this.log.warn({ bytes: payload.length }, 'control command ignored: too large');
      return;
    }
    let patch;
    try {
      patch = parseCommand(payload);
    } catch (error) {
      this.log.warn({ command: payload.toString('utf8').slice(0, 200), error: error instanceof Error ? error.message : String(error) }, 'control command ignored');
      return;
    }
    const changed = this.settings.apply(patch);
    this.log.info({ command: patch, changed }, 'control command applied');
  };
}
