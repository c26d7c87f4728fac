/**
 * ClientConnection's size cap, fed chunk by chunk through a real TCP connection pair so
 * headers can straddle chunk boundaries exactly where the test puts them.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MalformedPacketError, ClientConnection, type OversizePacket } from '../src/index.js';

interface ConnectionPair {
  client: Socket;
  connection: ClientConnection;
  received: Buffer[];
  oversize: OversizePacket[];
  ended: Promise<Error | undefined>;
}

describe('ClientConnection', () => {
  let server: Server;
  const accepted: Socket[] = [];

  before(async () => {
    server = createServer((socket) => accepted.push(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  after(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  async function pair(maxPacketBytes: number): Promise<ConnectionPair> {
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    const client = connect(address.port, '127.0.0.1');
    client.setNoDelay(true);
    client.on('error', () => {});
    await once(client, 'connect');
    while (accepted.length === 0) await once(server, 'connection');
    const socket = accepted.shift()!;
    const received: Buffer[] = [];
    const oversize: OversizePacket[] = [];
    const connection = new ClientConnection(socket, {
      maxPacketBytes,
      onOversize: (packet) => oversize.push(packet),
      onBytesIn: () => {},
      onBytesOut: () => {},
    }).start();
    connection.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = new Promise<Error | undefined>((resolve) => {
      connection.on('error', (error) => resolve(error));
      connection.on('close', () => resolve(undefined));
    });
    return { client, connection, received, oversize, ended };
  }

  /** Sends each part as its own write and waits until the connection has passed it on. */
  async function sendParts(p: ConnectionPair, parts: number[][]): Promise<void> {
    for (const part of parts) {
      const before = Buffer.concat(p.received).length;
      p.client.write(Buffer.from(part));
      while (Buffer.concat(p.received).length < before + part.length) await once(p.connection, 'data');
    }
  }

  it('passes packets within the cap through unchanged, headers split across chunks', async () => {
    const p = await pair(200);
    // PUBLISH with remaining length 150 (0x96 0x01: two length bytes) split inside the length field.
    const body = Array.from({ length: 150 }, (_, i) => i & 0xff);
    const parts = [[0x30, 0x96], [0x01, ...body.slice(0, 70)], [...body.slice(70), 0xc0, 0x00], [0xc0], [0x00]];
    await sendParts(p, parts);
    assert.deepEqual(Buffer.concat(p.received), Buffer.from(parts.flat()));
    assert.deepEqual(p.oversize, []);
    p.client.destroy();
  });

  it('refuses a packet over the cap from its header alone and closes the connection', async () => {
    const p = await pair(1024);
    await sendParts(p, [[0xc0, 0x00]]); // PINGREQ passes
    // 200 MB declared, length bytes arriving one chunk at a time.
    p.client.write(Buffer.from([0x30, 0x80]));
    p.client.write(Buffer.from([0x80, 0x80]));
    p.client.write(Buffer.from([0x64, 1, 2, 3]));
    assert.equal(await p.ended, undefined);
    assert.deepEqual(p.oversize, [{ packetType: 3, declaredBytes: 200 * 1024 * 1024 }]);
    assert.deepEqual(Buffer.concat(p.received), Buffer.from([0xc0, 0x00]), 'nothing of the oversize packet got through');
    await once(p.client, 'close');
  });

  it('treats a remaining length longer than 4 bytes as malformed', async () => {
    const p = await pair(1024);
    p.client.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    const error = await p.ended;
    assert.ok(error instanceof MalformedPacketError);
    assert.deepEqual(p.received, []);
  });
});
