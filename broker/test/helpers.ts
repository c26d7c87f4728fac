/** Shared pieces of the broker's service tests: starting a broker, accounts, raw MQTT bytes. */
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { loopbackBrokerEnv, stackAccounts, startBroker as startBrokerProcess, waitFor, type ServiceProcess } from '@camqtt/test-support';

export interface BrokerUnderTest {
  process: ServiceProcess;
  dir: string;
  ports: { mqtt: number; mqtts: number; http: number };
}

export async function makeTempDir(): Promise<string> {
  return await mkdtemp(join(tmpdir(), 'camqtt-broker-'));
}

const STACK_ACCOUNTS = stackAccounts(['cam1', 'cam2']);

export function brokerEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...loopbackBrokerEnv(dir, STACK_ACCOUNTS),
    BROKER_TLS_HOSTNAMES: 'localhost,127.0.0.1',
    BROKER_MAX_PACKET_BYTES: '1048576',
    TOPIC_PREFIX: 'camqtt',
    ...extra,
  };
}

export async function startBroker(dir: string, extra: Record<string, string> = {}): Promise<BrokerUnderTest> {
  // The loopback broker of the test-support package, with this suite's accounts and settings over it.
  const process = startBrokerProcess(dir, STACK_ACCOUNTS, brokerEnv(dir, extra));
  const [mqttPort, mqtts, http] = await Promise.all([process.port('mqtt'), process.port('mqtts'), process.port('http')]);
  return { process, dir, ports: { mqtt: mqttPort, mqtts, http } };
}

export async function stopBroker(broker: BrokerUnderTest | undefined): Promise<void> {
  if (!broker) return;
  await broker.process.stop();
  await rm(broker.dir, { recursive: true, force: true });
}

export async function passwordOf(dir: string, username: string): Promise<string> {
  return (await readFile(join(dir, 'passwords', username), 'utf8')).trim();
}

/** Connects a real MQTT.js client with a provisioned account; no reconnects, so a refusal stays visible. */
export async function connectAs(broker: BrokerUnderTest, username: string, options: IClientOptions = {}): Promise<MqttClient> {
  return await connectAsync(`mqtt://127.0.0.1:${broker.ports.mqtt}`, {
    username,
    password: await passwordOf(broker.dir, username),
    clientId: `${username}-${Math.random().toString(16).slice(2, 10)}`,
    reconnectPeriod: 0,
    ...options,
  });
}

/** Resolves with the next message the client receives on a topic matching `topic` exactly. */
/** The next message on `topic` (that `match` accepts: frames sent earlier may still be on the way). */
export async function nextMessage(client: MqttClient, topic: string, match: (payload: Buffer) => boolean = () => true): Promise<Buffer> {
  return await new Promise((resolve) => {
    const onMessage = (received: string, payload: Buffer): void => {
      if (received !== topic || !match(payload)) return;
      client.off('message', onMessage);
      resolve(payload);
    };
    client.on('message', onMessage);
  });
}

export async function closeClients(...clients: Array<MqttClient | undefined>): Promise<void> {
  await Promise.all(clients.map(async (client) => client?.endAsync(true)));
}

function remainingLength(length: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}

function mqttString(value: string): Buffer {
  const text = Buffer.from(value, 'utf8');
  const size = Buffer.alloc(2);
  size.writeUInt16BE(text.length);
  return Buffer.concat([size, text]);
}

/** A raw MQTT 3.1.1 CONNECT with a username and password (clean session, keepalive 60 s). */
export function connectPacket(clientId: string, username: string, password: string): Buffer {
  const body = Buffer.concat([
    mqttString('MQTT'),
    Buffer.from([4, 0xc2, 0, 60]),
    mqttString(clientId),
    mqttString(username),
    mqttString(password),
  ]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** The fixed header of a QoS 0 PUBLISH that declares `declaredLength` bytes of body. */
export function publishHeader(declaredLength: number): Buffer {
  return Buffer.concat([Buffer.from([0x30]), remainingLength(declaredLength)]);
}

/** A raw TCP connection that records what it receives and when it closes. */
export class RawConnection {
  readonly received: Buffer[] = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.received.push(chunk));
    socket.on('error', () => {}); // a reset by the broker is an expected way to close
    // Not events.once: that rejects on 'error', and a reset is one of the ways to close.
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** `localAddress` (another 127.x address) keeps per-address limits away from other tests. */
  static async open(port: number, localAddress?: string): Promise<RawConnection> {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    await once(socket, 'connect');
    return new RawConnection(socket);
  }

  /** Sends a CONNECT and resolves with the CONNACK return code (undefined: closed without one). */
  async login(clientId: string, username: string, password: string): Promise<number | undefined> {
    this.socket.write(connectPacket(clientId, username, password));
    const bytes = await this.waitForBytes(4);
    return bytes.length >= 4 && bytes[0] === 0x20 ? bytes[3] : undefined;
  }

  /** Waits until at least `bytes` bytes arrived (or the connection closed). */
  async waitForBytes(bytes: number): Promise<Buffer> {
    while (Buffer.concat(this.received).length < bytes && !this.socket.destroyed) {
      await Promise.race([new Promise((resolve) => this.socket.once('data', resolve)), this.closed]);
    }
    return Buffer.concat(this.received);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** One sample of the broker's Prometheus output, summed over its label sets (0 if absent). */
export async function metricValue(broker: BrokerUnderTest, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${broker.ports.http}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match && match[1] === name && (labels === '' || (match[2] ?? '').includes(labels))) sum += Number(match[3]);
  }
  return sum;
}

/** Waits until a sample of the broker's /metrics reaches `atLeast`; resolves with its value. */
export async function waitForMetric(broker: BrokerUnderTest, name: string, labels: string, atLeast: number): Promise<number> {
  return await waitFor(`${name}${labels ? `{${labels}}` : ''} >= ${atLeast}`, async () => {
    const value = await metricValue(broker, name, labels);
    return value >= atLeast ? value : undefined;
  });
}

/** The broker process's resident memory, from its own /metrics. */
export async function brokerRss(broker: BrokerUnderTest): Promise<number> {
  return await metricValue(broker, 'camqtt_broker_process_resident_memory_bytes');
}

export const MiB = 1024 * 1024;

/** A raw SUBSCRIBE for one filter. */
export function subscribePacket(messageId: number, filter: string, qos: 0 | 1 | 2): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(messageId);
  const body = Buffer.concat([id, mqttString(filter), Buffer.from([qos])]);
  return Buffer.concat([Buffer.from([0x82]), remainingLength(body.length), body]);
}

/**
 * A suite's broker process and every client the suite opens on it, all given back by stop():
 * `before(() => suite.start())`, `after(() => suite.stop())`, whatever the tests did in between.
 */
export class BrokerSuite {
  private running: BrokerUnderTest | undefined;
  private readonly clients: MqttClient[] = [];
  private readonly raws: RawConnection[] = [];

  constructor(private readonly env: Record<string, string> = {}) {}

  get broker(): BrokerUnderTest {
    if (!this.running) throw new Error("the suite's broker has not started");
    return this.running;
  }

  async start(): Promise<void> {
    this.running = await startBroker(await makeTempDir(), this.env);
  }

  /** A real MQTT.js client logged in as a provisioned account (see connectAs). */
  async client(username: string, options: IClientOptions = {}): Promise<MqttClient> {
    return this.keep(await connectAs(this.broker, username, options));
  }

  /** Closes `client` with the suite, for clients connected some other way. */
  keep(client: MqttClient): MqttClient {
    this.clients.push(client);
    return client;
  }

  /** A raw TCP connection to `port` (default: plain MQTT), from `localAddress` if given. */
  async raw(port = this.broker.ports.mqtt, localAddress?: string): Promise<RawConnection> {
    const connection = await RawConnection.open(port, localAddress);
    this.raws.push(connection);
    return connection;
  }

  async stop(): Promise<void> {
    for (const connection of this.raws) connection.destroy();
    await closeClients(...this.clients);
    await stopBroker(this.running);
  }
}
