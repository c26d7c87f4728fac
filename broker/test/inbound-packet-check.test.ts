/** The pure parts under ClientConnection: the inbound check and the packets the broker sends itself. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { connackRefusal, CONNACK_BAD_LEVEL, disconnectPacket, QUOTA_EXCEEDED } from '../src/broker-replies.js';
import { InboundPacketCheck } from '../src/inbound-packet-check.js';

const connect = (level: number): Buffer =>
  Buffer.from([0x10, 0x0c, 0x00, 0x04, ...Buffer.from('MQTT'), level, 0x02, 0x00, 0x3c, 0x00, 0x00]);

function parse(bytes: Buffer, protocolVersion: 4 | 5): Packet[] {
  const parser = mqttPacket.parser({ protocolVersion });
  const packets: Packet[] = [];
  parser.on('packet', (packet: Packet) => packets.push(packet));
  parser.parse(bytes);
  return packets;
}

describe('InboundPacketCheck', () => {
  it('holds the start of a connection until the CONNECT shows its protocol level, then passes it whole', () => {
    const check = new InboundPacketCheck(1024);
    const bytes = connect(4);
    assert.deepEqual(check.check(bytes.subarray(0, 5)), {});
    assert.deepEqual(check.check(bytes.subarray(5)), { bytes });
    const ping = Buffer.from([0xc0, 0x00]);
    assert.equal(check.check(ping).bytes, ping, 'after the first packet, chunks pass as they are');
  });

  it('reports an unsupported protocol level and passes nothing', () => {
    assert.deepEqual(new InboundPacketCheck(1024).check(connect(6)), { badLevel: 6 });
  });

  it('passes the packets before one over the cap, then reports it', () => {
    const check = new InboundPacketCheck(100);
    const start = connect(5);
    const verdict = check.check(Buffer.concat([start, Buffer.from([0x30, 0xc8, 0x01])]));
    assert.deepEqual(verdict, { bytes: start, oversize: { packetType: 3, declaredBytes: 200 } });
  });

  it('reports a remaining length longer than 4 bytes as malformed', () => {
    assert.deepEqual(new InboundPacketCheck(100).check(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), { malformed: true });
  });
});

describe('broker replies', () => {
  it('are packets MQTT parsers read as meant', () => {
    assert.deepEqual(
      parse(CONNACK_BAD_LEVEL, 4).map((p) => p.cmd === 'connack' && p.returnCode),
      [1],
    );
    assert.deepEqual(
      parse(connackRefusal(QUOTA_EXCEEDED), 5).map((p) => p.cmd === 'connack' && p.reasonCode),
      [0x97],
    );
    assert.deepEqual(
      parse(disconnectPacket(0x95), 5).map((p) => p.cmd === 'disconnect' && p.reasonCode),
      [0x95],
    );
  });
});
