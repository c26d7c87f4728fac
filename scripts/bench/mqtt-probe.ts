/**
 * The bench's own MQTT client on the broker. As a frame subscriber it times capture -> arrival at
 * an MQTT subscriber (the publisher's encode and publish plus the broker hop, without the relay)
 * and sees what the publisher actually sent. As a round-trip client it gives the floor: a
 * frame-sized payload published and received back by the same client, no camqtt code involved.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { readFrameMeta } from '@camqtt/wire';
import { nowMs } from './clock.js';
import type { RunningBroker } from './brokers.js';
import { sleep } from './processes.js';

export interface ProbeCameraTally {
  frames: number;
  lost: number;
  bytes: number;
  lastSeq: number | undefined;
}

async function connectBenchClient(broker: RunningBroker, label: string): Promise<MqttClient> {
  return await mqtt.connectAsync(broker.url, {
    ...broker.benchClient,
    clientId: `camqtt-bench-${label}-${randomBytes(4).toString('hex')}`,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  });
}

export class FrameProbe {
  readonly tallies = new Map<string, ProbeCameraTally>();
  /** Per frame, ms: capture -> this MQTT subscriber has the message. */
  readonly captureToBroker: number[] = [];
  measuring = false;
  /** The newest frame seen: a real frame of this size for the encode/decode floors. */
  lastFrame: Buffer | undefined;

  private constructor(private readonly client: MqttClient) {
    client.on('message', (_topic, payload) => this.onFrame(payload));
  }

  static async start(broker: RunningBroker, prefix: string): Promise<FrameProbe> {
    const client = await connectBenchClient(broker, 'probe');
    const probe = new FrameProbe(client);
    await client.subscribeAsync(`${prefix}/+/frame`, { qos: 0 });
    return probe;
  }

  private onFrame(payload: Buffer): void {
    const arrivedAt = nowMs();
    const meta = readFrameMeta(payload);
    if (!meta) return;
    this.lastFrame = payload;
    let tally = this.tallies.get(meta.camera);
    if (!tally) {
      tally = { frames: 0, lost: 0, bytes: 0, lastSeq: undefined };
      this.tallies.set(meta.camera, tally);
    }
    if (this.measuring) {
      if (tally.lastSeq !== undefined && meta.seq > tally.lastSeq + 1) tally.lost += meta.seq - tally.lastSeq - 1;
      tally.frames += 1;
      tally.bytes += payload.length;
      this.captureToBroker.push(arrivedAt - meta.captureTime);
    }
    tally.lastSeq = meta.seq;
  }

  async stop(): Promise<void> {
    await this.client.endAsync(true).catch(() => {});
  }
}

/**
 * Median of `count` sequential round trips of a `bytes`-long QoS 0 payload through the broker.
 * Each wait is bounded; a lost message counts as a timeout and is left out.
 */
export async function mqttRoundTripMs(broker: RunningBroker, bytes: number, count: number): Promise<number[]> {
  const client = await connectBenchClient(broker, 'rtt');
  const topic = `camqtt-bench/rtt/${randomBytes(4).toString('hex')}`;
  const payload = randomBytes(Math.max(1, bytes));
  const times: number[] = [];
  try {
    await client.subscribeAsync(topic, { qos: 0 });
    for (let i = 0; i < count; i += 1) {
      const started = nowMs();
      const arrived = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          client.off('message', onMessage);
          resolve(false);
        }, 2000);
        const onMessage = (): void => {
          clearTimeout(timer);
          client.off('message', onMessage);
          resolve(true);
        };
        client.on('message', onMessage);
      });
      client.publish(topic, payload, { qos: 0 });
      if (await arrived) times.push(nowMs() - started);
      await sleep(2);
    }
  } finally {
    await client.endAsync(true).catch(() => {});
  }
  return times;
}
