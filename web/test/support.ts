/**
 * Real parts for the relay tests: an in-process Aedes broker, the built relay as a child process,
 * a real MQTT.js publisher, real JPEGs from ffmpeg, and a raw `ws` viewer that records what it gets.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectAsync, type MqttClient } from 'mqtt';
import { WebSocket } from 'ws';
import { checkJpeg, decodeViewerFrame, withFrameMeta, type ViewerEvent, type ViewerFrame } from '@camqtt/wire';
import { ServiceProcess, TestBroker, waitFor } from '@camqtt/test-support';

const run = promisify(execFile);

export const PREFIX = 'camqtt';

/**
 * Where relays started here keep their session secret (WEB_SECRET_FILE) unless a test names one:
 * its default, .camqtt/ in the working directory, would be the repository's.
 */
const secretDir = mkdtempSync(join(tmpdir(), 'camqtt-web-secret-'));
process.on('exit', () => rmSync(secretDir, { recursive: true, force: true }));
export const TEST_SECRET_FILE = join(secretDir, 'web-secret');

/** Real JPEGs of ffmpeg's moving test pattern, each different from the one before. */
export async function makeJpegs(count: number, size = '320x240', quality = 5): Promise<Buffer[]> {
  const dir = await mkdtemp(join(tmpdir(), 'camqtt-web-jpegs-'));
  try {
    await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=${size}:rate=10`,
      '-frames:v',
      String(count),
      '-q:v',
      String(quality),
      join(dir, 'f%03d.jpg'),
    ]);
    const names = (await readdir(dir)).filter((name) => name.endsWith('.jpg')).sort();
    return await Promise.all(names.map((name) => readFile(join(dir, name))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function startRelay(
  mqttUrl: string,
  port = 0,
  { waitForBroker = true, env = {} }: { waitForBroker?: boolean; env?: Record<string, string> } = {},
): Promise<{ relay: ServiceProcess; port: number; baseUrl: string }> {
  const relay = ServiceProcess.start('web', {
    WEB_HOST: '127.0.0.1',
    WEB_PORT: String(port),
    MQTT_URL: mqttUrl,
    TOPIC_PREFIX: PREFIX,
    WEB_SECRET_FILE: TEST_SECRET_FILE,
    ...env,
  });
  try {
    const bound = await relay.port('http');
    const baseUrl = `http://127.0.0.1:${bound}`;
    // Frames published before the relay subscribed would be lost: wait until /healthz says it is
    // connected (it subscribes on the connect, before any frame of ours can reach the broker).
    if (waitForBroker) await waitFor('the relay connected to the broker', async () => (await getJson(`${baseUrl}/healthz`)).status === 200);
    return { relay, port: bound, baseUrl };
  } catch (error) {
    await relay.stop();
    throw error;
  }
}

/** A broker, the relay as a process subscribed to it, and an MQTT client to publish as cameras do. */
export interface RelayUnderTest {
  broker: TestBroker;
  relay: ServiceProcess;
  port: number;
  baseUrl: string;
  publisher: MqttClient;
  /** Ends the client, the relay and the broker. */
  stop(): Promise<void>;
}

export async function startRelayUnderTest(env: Record<string, string> = {}): Promise<RelayUnderTest> {
  const broker = await TestBroker.start();
  try {
    const { relay, port, baseUrl } = await startRelay(broker.url, 0, { env });
    const publisher = await connectPublisher(broker.url);
    const stop = async (): Promise<void> => {
      await publisher.endAsync();
      await relay.stop();
      await broker.stop();
    };
    return { broker, relay, port, baseUrl, publisher, stop };
  } catch (error) {
    await broker.stop();
    throw error;
  }
}

export async function connectPublisher(mqttUrl: string): Promise<MqttClient> {
  return await connectAsync(mqttUrl, { protocolVersion: 4, clientId: `camqtt-test-${process.pid}-${Math.random().toString(16).slice(2)}` });
}

/** A raw WebSocket viewer that keeps everything the relay sends it. */
export class TestViewer {
  readonly frames: ViewerFrame[] = [];
  readonly events: ViewerEvent[] = [];
  readonly undecodable: Buffer[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) {
        this.events.push(JSON.parse(data.toString()) as ViewerEvent);
        return;
      }
      const frame = decodeViewerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (frame) this.frames.push(frame);
      else this.undecodable.push(data);
    });
  }

  static async connect(baseUrl: string, headers: Record<string, string> = {}): Promise<TestViewer> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`, { headers });
    const viewer = new TestViewer(socket);
    await once(socket, 'open');
    return viewer;
  }

  async event<T extends ViewerEvent['type']>(
    type: T,
    match: (event: Extract<ViewerEvent, { type: T }>) => boolean = () => true,
  ): Promise<Extract<ViewerEvent, { type: T }>> {
    return await waitFor(`a ${type} event`, () =>
      this.events.find(
        (event): event is Extract<ViewerEvent, { type: T }> => event.type === type && match(event as Extract<ViewerEvent, { type: T }>),
      ),
    );
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const closed = once(this.socket, 'close');
    this.socket.close();
    const timer = setTimeout(() => this.socket.terminate(), 2000);
    await closed;
    clearTimeout(timer);
  }
}

export async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

/**
 * Sums a metric's samples from the relay's /metrics whose labels include all of `labels`
 * (e.g. every camera's `camqtt_web_frames_dropped_total{reason="replaced"}`).
 */
export async function metric(baseUrl: string, name: string, labels: Record<string, string> = {}, init: RequestInit = {}): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`, init)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const sample = new Map([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => sample.get(key) === value)) sum += Number(match[3]);
  }
  return sum;
}

/** Publishes `camera`'s frames (the JPEGs in turn, with camqtt metadata) every `intervalMs` until stopped. */
export class FakeCamera {
  private timer: NodeJS.Timeout | undefined;
  seq = 0;

  constructor(
    private readonly publisher: MqttClient,
    readonly camera: string,
    private readonly jpegs: Buffer[],
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.publishOne().catch(() => {}), this.intervalMs);
  }

  async publishOne(): Promise<void> {
    this.seq += 1;
    const frame = withFrameMeta(this.jpegs[this.seq % this.jpegs.length]!, { camera: this.camera, seq: this.seq, captureTime: Date.now() });
    await this.publisher.publishAsync(`${PREFIX}/${this.camera}/frame`, Buffer.from(frame));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * A broker with one camera on it, as the access tests need: `cam1` has announced itself online
 * (retained status) and publishes a frame every 100 ms.
 */
export class LiveCamera {
  private constructor(
    readonly broker: TestBroker,
    private readonly publisher: MqttClient,
    private readonly camera: FakeCamera,
  ) {}

  static async start(camera = 'cam1'): Promise<LiveCamera> {
    const broker = await TestBroker.start();
    const publisher = await connectPublisher(broker.url);
    await publisher.publishAsync(`${PREFIX}/${camera}/status`, JSON.stringify({ camera, online: true }), { qos: 1, retain: true });
    const fake = new FakeCamera(publisher, camera, await makeJpegs(5), 100);
    fake.start();
    return new LiveCamera(broker, publisher, fake);
  }

  async stop(): Promise<void> {
    this.camera.stop();
    await this.publisher.endAsync();
    await this.broker.stop();
  }
}

/** With `headers`, the camera's snapshot is a JPEG and its MJPEG stream starts (then is dropped). */
export async function assertSnapshotAndStream(baseUrl: string, camera: string, headers: Record<string, string>): Promise<void> {
  const snapshot = await waitFor('a snapshot', async () => {
    const answer = await fetch(`${baseUrl}/api/cameras/${camera}/snapshot.jpg`, { headers });
    return answer.status === 200 ? new Uint8Array(await answer.arrayBuffer()) : undefined;
  });
  assert.deepEqual(checkJpeg(snapshot), { ok: true });
  const abort = new AbortController();
  const stream = await fetch(`${baseUrl}/api/cameras/${camera}/stream.mjpg`, { headers, signal: abort.signal });
  assert.equal(stream.status, 200);
  assert.match(stream.headers.get('content-type') ?? '', /^multipart\/x-mixed-replace; boundary=/);
  abort.abort();
}

/** The HTTP status a WebSocket upgrade to the relay's `path` gets with `headers` (101: accepted). */
export async function upgradeStatus(baseUrl: string, headers: Record<string, string>, path = '/ws'): Promise<number> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}`, { headers });
  try {
    return await new Promise<number>((resolve) => {
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.on('open', () => resolve(101));
      socket.on('error', () => {});
    });
  } finally {
    socket.terminate();
  }
}
