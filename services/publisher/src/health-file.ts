/**
 * PUBLISHER_HEALTH_FILE: a file the publisher rewrites every few seconds while it is connected to
 * the broker, so a container health check can tell a working publisher from one that is merely
 * running (the publisher has no port to ask, and opening one just for that would expose it).
 * The check reads the file's age; see docker-compose.yml.
 */
import { writeFile } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';

export const HEALTH_FILE_INTERVAL_MS = 5_000;

export class HealthFile {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    private readonly path: string,
    private readonly client: MqttClient,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.beat(), HEALTH_FILE_INTERVAL_MS);
    this.client.on('connect', this.beatNow);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.client.off('connect', this.beatNow);
  }

  private readonly beatNow = (): void => void this.beat();

  private async beat(): Promise<void> {
    if (!this.client.connected) return;
    try {
      await writeFile(this.path, `${new Date().toISOString()}\n`);
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.log.warn({ file: this.path, error: (error as Error).message }, 'cannot write PUBLISHER_HEALTH_FILE');
      this.failing = true;
    }
  }
}
