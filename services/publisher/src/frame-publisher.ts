/**
 * Hands encoded frames to MQTT, QoS 0, through a NewestWinsGate: one publish in flight, the
 * newest frame waiting, older ones replaced. For QoS 0 MQTT.js calls the publish callback once
 * the socket took the packet (at once, or on 'drain'), which is exactly the gate's `done`: a
 * slow link costs frames, never a queue. While the client is offline frames are dropped here
 * (queueQoSZero is off too, so MQTT.js would not queue them either).
 */
import type { IClientPublishOptions, MqttClient } from 'mqtt';
import { epochNowMs, NewestWinsGate, type FrameMeta } from '@camqtt/wire';
import { protocolVersionOf } from '@camqtt/service-kit';
import type { Logger } from 'pino';

interface OutgoingFrame {
  payload: Uint8Array;
  /** Camera, seq and when it was grabbed (epoch ms, also for the capture -> socket latency). */
  meta: FrameMeta;
}

/** Latency samples kept between two status periods; more are not needed for a p99. */
const MAX_LATENCY_SAMPLES = 10_000;

export class FramePublisher {
  private readonly gate: NewestWinsGate<OutgoingFrame>;
  /** `done` of the publish in flight: a socket closing while waiting for 'drain' never calls it. */
  private inFlightDone: (() => void) | undefined;
  private offlineDrops = 0;
  private failedPublishes = 0;
  private newest: Uint8Array | undefined;
  private framesSent = 0;
  private payloadBytesSent = 0;
  /** ms from grab to the socket taking the frame, per frame since the last takeLatencies(). */
  private latencies: number[] = [];

  constructor(
    private readonly client: MqttClient,
    private readonly topic: string,
    /** FRAME_EXPIRY_S: with MQTT 5 a broker drops a frame older than this instead of delivering it late. */
    private readonly expirySeconds: number,
    private readonly log: Logger,
  ) {
    this.gate = new NewestWinsGate((frame, done) => this.deliver(frame, done));
  }

  /** The newest frame the socket took (Home Assistant's still is taken from it). */
  get latest(): Uint8Array | undefined {
    return this.newest;
  }

  /** Frames the socket took (snapshots included). */
  get sent(): number {
    return this.framesSent;
  }

  /** Payload bytes of the frames the socket took. */
  get bytesSent(): number {
    return this.payloadBytesSent;
  }

  /** Frames that never reached the socket: replaced at the gate, dropped offline, or failed. */
  get dropped(): number {
    return this.gate.replaced + this.offlineDrops + this.failedPublishes;
  }

  /** False while the client is not connected: the caller may skip encoding altogether. */
  get connected(): boolean {
    return this.client.connected;
  }

  start(): void {
    this.client.on('close', this.onClose);
  }

  stop(): void {
    this.client.off('close', this.onClose);
  }

  /** Counts a frame not even offered because the client is offline. */
  dropOffline(): void {
    this.offlineDrops += 1;
  }

  offer(payload: Uint8Array, meta: FrameMeta): void {
    if (!this.client.connected) {
      this.offlineDrops += 1;
      return;
    }
    this.gate.offer({ payload, meta });
  }

  /**
   * QoS 0, not retained; with MQTT 5 also what the JPEG comment says, as properties a consumer can
   * read without parsing the JPEG, and an expiry. Decided per publish: a reconnect may have fallen
   * back to 3.1.1.
   */
  private publishOptions(meta: FrameMeta, qos: 0 | 1): IClientPublishOptions {
    if (protocolVersionOf(this.client) !== 5) return { qos, retain: false };
    return {
      qos,
      retain: false,
      properties: {
        contentType: 'image/jpeg',
        messageExpiryInterval: this.expirySeconds,
        userProperties: { camera: meta.camera, seq: String(meta.seq), captureTime: String(meta.captureTime) },
      },
    };
  }

  /**
   * A snapshot goes around the gate, so no later frame can replace it, at QoS 1, so we know the
   * broker has it before the command is acknowledged. Rejects if it was not sent.
   */
  async publishSnapshot(payload: Uint8Array, meta: FrameMeta): Promise<void> {
    if (!this.client.connected) throw new Error('not connected to the broker');
    await this.client.publishAsync(
      this.topic,
      Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      this.publishOptions(meta, 1),
    );
    this.framesSent += 1;
    this.payloadBytesSent += payload.byteLength;
  }

  /** Takes the capture -> socket latencies (ms) recorded since the last call. */
  takeLatencies(): number[] {
    const taken = this.latencies;
    this.latencies = [];
    return taken;
  }

  private deliver({ payload, meta }: OutgoingFrame, done: () => void): void {
    if (!this.client.connected) {
      // Connection lost between offer and delivery (a pending frame released by the previous done).
      this.offlineDrops += 1;
      done();
      return;
    }
    this.inFlightDone = done;
    const message = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    this.client.publish(this.topic, message, this.publishOptions(meta, 0), (error) => {
      // Already settled by onClose: counted there.
      if (this.inFlightDone !== done) return;
      this.inFlightDone = undefined;
      if (error) {
        this.failedPublishes += 1;
        this.log.debug({ error: error.message }, 'frame publish failed');
      } else {
        this.framesSent += 1;
        this.payloadBytesSent += payload.byteLength;
        this.newest = payload;
        if (this.latencies.length < MAX_LATENCY_SAMPLES) this.latencies.push(epochNowMs() - meta.captureTime);
      }
      done();
    });
  }

  private readonly onClose = (): void => {
    // The frame waiting for 'drain' is lost with the socket, and so is the pending one: both are
    // stale by the time a new connection is up.
    const done = this.inFlightDone;
    this.inFlightDone = undefined;
    this.gate.dropPending();
    if (done) {
      this.failedPublishes += 1;
      done();
    }
  };
}
