/**
 * The soak's own MQTT client, logged in as the stack's admin: it follows every camera's retained
 * status (frames sent and dropped by the publisher, online, last error) and sends the control
 * commands that change a camera's fps. It reconnects by itself across broker restarts.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { parseCameraStatus, Topics, type CameraStatus } from '@camqtt/wire';
import type { SoakStack } from './soak-stack.js';

const topics = new Topics('camqtt');

export class AdminClient {
  readonly statuses = new Map<string, CameraStatus>();
  private readonly client: MqttClient;

  constructor(stack: SoakStack) {
    this.client = mqtt.connect(`mqtts://localhost:${stack.ports.mqtts}`, {
      ca: readFileSync(stack.caFile),
      username: 'admin',
      password: readFileSync(stack.passwordFile('admin'), 'utf8').trim(),
      clientId: `camqtt-soak-admin-${process.pid}`,
      protocolVersion: 5,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
    });
    this.client.on('error', () => undefined); // reconnects; a broker restart is expected
    this.client.on('connect', () => void this.client.subscribeAsync(topics.all('status'), { qos: 1 }).catch(() => undefined));
    this.client.on('message', (topic, payload) => {
      const parsed = topics.parse(topic);
      if (parsed?.kind !== 'status') return;
      const result = parseCameraStatus(payload);
      if ('status' in result) this.statuses.set(parsed.camera, result.status);
    });
  }

  /** Sends `{"fps":N}` to a camera; false if the broker is not reachable right now. */
  async setFps(camera: string, fps: number): Promise<boolean> {
    if (!this.client.connected) return false;
    try {
      await this.client.publishAsync(topics.control(camera), JSON.stringify({ fps, id: `soak-fps-${fps}` }), { qos: 1 });
      return true;
    } catch {
      return false;
    }
  }

  async stop(): Promise<void> {
    await this.client.endAsync(true);
  }
}
