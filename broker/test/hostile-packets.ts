/**
 * Bad MQTT input for the hostile-input test: random bytes, random packet types with random
 * bodies, truncated and oversized packets, valid packets with bytes flipped, reserved flags and
 * unknown protocol levels. Seeded, so a failure can be replayed.
 */
import { connectPacket, publishHeader, subscribePacket } from './helpers.js';

/** mulberry32: small, fast and deterministic. */
export class SeededRandom {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

function withLength(firstByte: number, body: Buffer): Buffer {
  const length: number[] = [];
  let rest = body.length;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    length.push(byte);
  } while (rest > 0);
  return Buffer.concat([Buffer.from([firstByte, ...length]), body]);
}

function publishPacket(topic: string, payload: Buffer, flags: number): Buffer {
  const name = Buffer.from(topic);
  const head = Buffer.alloc(2);
  head.writeUInt16BE(name.length);
  const id = flags & 0x06 ? Buffer.from([0x12, 0x34]) : Buffer.alloc(0);
  return withLength(0x30 | flags, Buffer.concat([head, name, id, payload]));
}

function flipped(random: SeededRandom, packet: Buffer): Buffer {
  const copy = Buffer.from(packet);
  const flips = 1 + random.int(3);
  for (let i = 0; i < flips; i++) copy[random.int(copy.length)] = random.int(256);
  return copy;
}

function connectWithLevel(level: number): Buffer {
  const packet = connectPacket('hostile', 'nobody', 'nothing');
  // Fixed header (2 bytes) + name length (2) + "MQTT" (4), then the level byte.
  packet[8] = level;
  return packet;
}

export type HostileKind = 'random' | 'random-type' | 'truncated' | 'oversize' | 'flipped' | 'bad-flags' | 'bad-level' | 'bad-topic';

/** One bad packet of a random kind; `maxPacketBytes` is the broker's cap. */
export function hostilePacket(random: SeededRandom, maxPacketBytes: number): { kind: HostileKind; bytes: Buffer } {
  const kind = random.pick<HostileKind>([
    'random',
    'random-type',
    'truncated',
    'oversize',
    'flipped',
    'bad-flags',
    'bad-level',
    'bad-topic',
  ]);
  switch (kind) {
    case 'random':
      return { kind, bytes: random.bytes(1 + random.int(512)) };
    case 'random-type':
      return { kind, bytes: withLength(random.int(256), random.bytes(random.int(300))) };
    case 'truncated': {
      const whole = publishPacket('camqtt/cam1/frame', random.bytes(200 + random.int(2000)), 0);
      return { kind, bytes: whole.subarray(0, 1 + random.int(whole.length - 1)) };
    }
    case 'oversize':
      return { kind, bytes: Buffer.concat([publishHeader(maxPacketBytes + 1 + random.int(1 << 27)), random.bytes(random.int(64))]) };
    case 'flipped': {
      const valid = random.pick([
        () => connectPacket('c', 'relay', 'x'),
        () => subscribePacket(1 + random.int(60000), 'camqtt/+/frame', 1),
        () => publishPacket('camqtt/cam1/frame', random.bytes(random.int(100)), 2),
        () => Buffer.from([0xc0, 0x00]),
        () => Buffer.from([0x62, 0x02, 0x00, 0x01]),
      ])();
      return { kind, bytes: flipped(random, valid) };
    }
    case 'bad-flags':
      return {
        kind,
        bytes: random.pick([
          Buffer.from([0x80, 0x07, 0x00, 0x01, 0x00, 0x02, 0x61, 0x2f, 0x00]), // SUBSCRIBE without its required flags
          publishPacket('a/b', Buffer.from('x'), 0x06), // PUBLISH with QoS 3
          Buffer.from([0xa2, 0x02, 0x00, 0x01]), // UNSUBSCRIBE with no topic
          Buffer.from([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x03]), // SUBSCRIBE asking QoS 3
          Buffer.from([0xe0, 0x01, 0x00]), // DISCONNECT with a body
        ]),
      };
    case 'bad-level':
      return { kind, bytes: connectWithLevel(random.pick([0, 1, 2, 6, 7, 127, 255])) };
    case 'bad-topic':
      return {
        kind,
        bytes: random.pick([
          publishPacket('a/#', Buffer.from('x'), 0),
          publishPacket('', Buffer.from('x'), 2),
          publishPacket('a/+/b', Buffer.from('x'), 1),
          publishPacket('/'.repeat(300), Buffer.from('x'), 0),
          publishPacket('\u0000nul', Buffer.from('x'), 0),
          subscribePacket(7, 'a/#/b', 0),
          subscribePacket(8, '', 1),
        ]),
      };
  }
}
