/**
 * Pieces of the MQTT 5 tests: the broker in its conformance configuration (plus provisioned
 * accounts), MQTT.js clients that record what they receive, and a raw mqtt-packet connection for
 * what MQTT.js hides (acks it sends by itself, limits it enforces on its own side).
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { connectAsync, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { repoRoot } from '@camqtt/test-support';
import { BrokerSuite } from './helpers.js';

/** The packet cap of the MQTT 5 suites' broker (BROKER_MAX_PACKET_BYTES). */
export const MAX_PACKET_BYTES = 4096;

/** Anonymous clients with the conformance rules (all but test/nosubscribe), and the provisioned accounts. */
export function conformanceSuite(): BrokerSuite {
  return new BrokerSuite({
    BROKER_ALLOW_ANONYMOUS: 'true',
    BROKER_ACL_FILE: `${repoRoot}broker/conformance/acl`,
    BROKER_MAX_PACKET_BYTES: String(MAX_PACKET_BYTES),
  });
}

let counter = 0;
/** A topic and client id no other test uses. */
export function unique(name: string): string {
  counter += 1;
  return `${name}-${process.pid}-${counter}`;
}

/** Collects what a client receives; `next` hands out each item once, in order of arrival. */
export class Inbox<T> {
  readonly items: T[] = [];
  private readonly taken = new Set<number>();
  private waiters: Array<{ match: (item: T) => boolean; resolve: (item: T) => void }> = [];

  push(item: T): void {
    this.items.push(item);
    const waiter = this.waiters.find((w) => w.match(item));
    if (!waiter) return;
    this.taken.add(this.items.length - 1);
    this.waiters.splice(this.waiters.indexOf(waiter), 1);
    waiter.resolve(item);
  }

  /** The first item matching that no earlier `next` took, waiting for it if needed. */
  async next(match: (item: T) => boolean = () => true): Promise<T> {
    const index = this.items.findIndex((item, i) => !this.taken.has(i) && match(item));
    if (index >= 0) {
      this.taken.add(index);
      return this.items[index]!;
    }
    return await new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}

export interface Received {
  topic: string;
  payload: string;
  packet: IPublishPacket;
}

/** An MQTT.js MQTT 5 client (anonymous unless options say otherwise) with an inbox of its messages. */
export async function v5Client(suite: BrokerSuite, options: IClientOptions = {}): Promise<{ client: MqttClient; inbox: Inbox<Received> }> {
  const client = suite.keep(
    await connectAsync(`mqtt://127.0.0.1:${suite.broker.ports.mqtt}`, {
      protocolVersion: 5,
      clientId: unique('c'),
      reconnectPeriod: 0,
      ...options,
    }),
  );
  const inbox = new Inbox<Received>();
  client.on('message', (topic, payload, packet) => inbox.push({ topic, payload: payload.toString(), packet }));
  return { client, inbox };
}

/** A raw connection speaking mqtt-packet at one protocol level; QoS acks are the test's job unless `autoAck`. */
export class RawClient {
  readonly inbox = new Inbox<Packet>();
  readonly closed: Promise<void>;
  private readonly parser;

  private constructor(
    private readonly socket: Socket,
    readonly protocolVersion: 4 | 5,
    autoAck: boolean,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion });
    this.parser.on('packet', (packet: Packet) => {
      this.inbox.push(packet);
      if (!autoAck || packet.cmd !== 'publish' || !packet.messageId) return;
      if (packet.qos === 1) this.send({ cmd: 'puback', messageId: packet.messageId });
      if (packet.qos === 2) this.send({ cmd: 'pubrec', messageId: packet.messageId });
    });
    socket.on('data', (chunk: Buffer) => this.parser.parse(chunk));
    socket.on('error', () => {}); // a reset is one of the ways the broker closes
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(
    port: number,
    protocolVersion: 4 | 5 = 5,
    { autoAck = true, localAddress }: { autoAck?: boolean; localAddress?: string } = {},
  ): Promise<RawClient> {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    await once(socket, 'connect');
    return new RawClient(socket, protocolVersion, autoAck);
  }

  send(packet: Packet): void {
    if (!this.socket.destroyed) this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }));
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends CONNECT (clean, keep-alive 60 s unless given) and waits for the CONNACK. */
  async connect(fields: Partial<mqttPacket.IConnectPacket> = {}): Promise<mqttPacket.IConnackPacket> {
    this.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: this.protocolVersion,
      clean: true,
      keepalive: 60,
      clientId: unique('raw'),
      ...fields,
    });
    return (await this.inbox.next((p) => p.cmd === 'connack')) as mqttPacket.IConnackPacket;
  }

  async next<C extends Packet['cmd']>(
    cmd: C,
    match: (packet: Extract<Packet, { cmd: C }>) => boolean = () => true,
  ): Promise<Extract<Packet, { cmd: C }>> {
    return (await this.inbox.next((p) => p.cmd === cmd && match(p as Extract<Packet, { cmd: C }>))) as Extract<Packet, { cmd: C }>;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Opens raw clients for a suite and closes them all with `destroyAll`. */
export class RawClients {
  private readonly all: RawClient[] = [];

  async open(port: number, protocolVersion: 4 | 5 = 5, options: { autoAck?: boolean; localAddress?: string } = {}): Promise<RawClient> {
    const raw = await RawClient.open(port, protocolVersion, options);
    this.all.push(raw);
    return raw;
  }

  /** A raw client that has sent CONNECT (with `fields`) and got its CONNACK. */
  async connected(port: number, protocolVersion: 4 | 5 = 5, fields = {}, options: { autoAck?: boolean } = {}): Promise<RawClient> {
    const raw = await this.open(port, protocolVersion, options);
    await raw.connect(fields);
    return raw;
  }

  destroyAll(): void {
    for (const raw of this.all) raw.destroy();
  }
}
