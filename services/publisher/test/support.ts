/**
 * Real parts for the publisher tests: an in-process Aedes broker on a free port (restartable on
 * the same port), and an MQTT.js subscriber that records frames and statuses and lets a test wait
 * for the one it needs; a URL that never answers. The MJPEG-over-HTTP and RTSP cameras live in
 * @camqtt/test-support (the bench uses them too) and are re-exported here.
 */
import { once } from 'node:events';
import net from 'node:net';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { type CameraStatus, type FrameMeta, Topics, parseCameraStatus, readFrameMeta } from '@camqtt/wire';
import { ServiceProcess, TestBroker } from '@camqtt/test-support';

export { MjpegCamera, RtspCamera } from '@camqtt/test-support';

export const WAIT_MS = 20_000;

export interface ReceivedFrame {
  payload: Buffer;
  meta: FrameMeta | undefined;
  receivedAt: number;
}

type Waiter<T> = { match: (item: T) => boolean; resolve: (item: T) => void };

/** A real MQTT.js client subscribed to one camera's frames and status. */
export class TestSubscriber {
  readonly frames: ReceivedFrame[] = [];
  readonly statuses: CameraStatus[] = [];
  /** Status payloads that did not match the schema (a test asserts there are none). */
  readonly invalidStatuses: string[] = [];
  private frameWaiters: Array<Waiter<ReceivedFrame>> = [];
  private statusWaiters: Array<Waiter<CameraStatus>> = [];

  private constructor(
    readonly client: MqttClient,
    readonly topics: Topics,
    readonly camera: string,
  ) {
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  /** @param options e.g. username/password for the bundled broker, ca for TLS */
  static async connect(url: string, camera: string, prefix = 'camqtt', options: IClientOptions = {}): Promise<TestSubscriber> {
    const client = await connectAsync(url, {
      reconnectPeriod: 200,
      clientId: `test-sub-${Math.random().toString(16).slice(2)}`,
      ...options,
    });
    const subscriber = new TestSubscriber(client, new Topics(prefix), camera);
    await client.subscribeAsync([subscriber.topics.frame(camera), subscriber.topics.status(camera)], { qos: 0 });
    return subscriber;
  }

  async control(command: unknown): Promise<void> {
    const payload = typeof command === 'string' ? command : JSON.stringify(command);
    await this.client.publishAsync(this.topics.control(this.camera), payload, { qos: 1 });
  }

  /** Resolves with the first frame received from now on that matches. */
  nextFrame(match: (frame: ReceivedFrame) => boolean = () => true, timeoutMs = WAIT_MS): Promise<ReceivedFrame> {
    return waitFor(this.frameWaiters, match, timeoutMs, 'frame');
  }

  /** Resolves with the first status (past or future) that matches. */
  status(match: (status: CameraStatus) => boolean, timeoutMs = WAIT_MS): Promise<CameraStatus> {
    const seen = this.statuses.find(match);
    if (seen) return Promise.resolve(seen);
    return waitFor(this.statusWaiters, match, timeoutMs, 'status');
  }

  /** Resolves with the first status received from now on that matches. */
  nextStatus(match: (status: CameraStatus) => boolean = () => true, timeoutMs = WAIT_MS): Promise<CameraStatus> {
    return waitFor(this.statusWaiters, match, timeoutMs, 'status');
  }

  /** Resolves with the next `count` frames received from now on. */
  async collectFrames(count: number, timeoutMs = WAIT_MS): Promise<ReceivedFrame[]> {
    const start = this.frames.length;
    await this.nextFrame(() => this.frames.length - start >= count, timeoutMs);
    return this.frames.slice(start, start + count);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === this.topics.frame(this.camera)) {
      const frame = { payload, meta: readFrameMeta(payload), receivedAt: Date.now() };
      this.frames.push(frame);
      this.frameWaiters = settle(this.frameWaiters, frame);
    } else if (topic === this.topics.status(this.camera)) {
      const parsed = parseCameraStatus(payload);
      if ('invalid' in parsed) {
        this.invalidStatuses.push(`${parsed.invalid}: ${payload.toString('utf8')}`);
        return;
      }
      const { status } = parsed;
      this.statuses.push(status);
      this.statusWaiters = settle(this.statusWaiters, status);
    }
  }
}

function waitFor<T>(waiters: Array<Waiter<T>>, match: (item: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching ${what} within ${timeoutMs} ms`)), timeoutMs);
    waiters.push({
      match,
      resolve: (item) => {
        clearTimeout(timer);
        resolve(item);
      },
    });
  });
}

function settle<T>(waiters: Array<Waiter<T>>, item: T): Array<Waiter<T>> {
  return waiters.filter((waiter) => {
    if (!waiter.match(item)) return true;
    waiter.resolve(item);
    return false;
  });
}

/**
 * Env for a publisher under test: debug logs, quick status, the given broker, and a failed source
 * retried after 0.25 s doubling to 2 s instead of 1 s to 10 s (CAMQTT_TEST_SOURCE_RETRY_MS, see
 * src/retry-backoff.ts), so a camera killed and restarted is back without a long real-time wait.
 */
export function publisherEnv(brokerUrl: string, extra: Record<string, string>): Record<string, string> {
  return {
    MQTT_URL: brokerUrl,
    CAMERA_ID: 'testcam',
    VIDEO_FPS: '15',
    STATUS_INTERVAL_S: '1',
    CAMQTT_TEST_SOURCE_RETRY_MS: '250,2000',
    ...extra,
  };
}

/**
 * What most publisher tests stand on: an in-process broker, and real publisher processes each
 * watched by a subscriber from before its first message. `stop()` gives everything back.
 */
export class PublisherTestBed {
  readonly broker = new TestBroker();
  private readonly processes: ServiceProcess[] = [];
  private readonly subscribers: TestSubscriber[] = [];

  async start(): Promise<void> {
    await this.broker.start();
  }

  /** A subscriber to `camera`'s frames and status, closed by stop(). */
  async subscriber(camera: string): Promise<TestSubscriber> {
    const subscriber = await TestSubscriber.connect(this.broker.url, camera);
    this.subscribers.push(subscriber);
    return subscriber;
  }

  /** Starts a publisher as `camera` with `env` over the test defaults, watched by a new subscriber. */
  async camera(camera: string, env: Record<string, string>): Promise<{ publisher: ServiceProcess; subscriber: TestSubscriber }> {
    const subscriber = await this.subscriber(camera);
    const publisher = ServiceProcess.start('publisher', publisherEnv(this.broker.url, { CAMERA_ID: camera, ...env }));
    this.processes.push(publisher);
    return { publisher, subscriber };
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
    await Promise.all(this.subscribers.map((s) => s.close()));
    await this.broker.stop();
  }
}

/** A TCP server that accepts connections and never answers: a camera URL that hangs. */
export class SilentServer {
  private readonly server = net.createServer((socket) => {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => this.sockets.delete(socket));
  });
  private readonly sockets = new Set<net.Socket>();

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
