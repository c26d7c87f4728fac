/**
 * MQTT_PROTOCOL_VERSION=auto against a broker that speaks 3.1.1 only (older Mosquitto, some
 * hosted brokers): the bundled broker speaks 5 now, so the legacy broker is played here by a TCP
 * server that answers a level-5 CONNECT the way such a broker does (CONNACK, return code 1:
 * unacceptable protocol version) and accepts level 4.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { connectMqtt, isProtocolFallback, protocolVersionOf } from '../src/mqtt-connect.js';

/** Byte 7 of a CONNECT with a one-byte remaining length: the protocol level after "\0\4MQTT". */
const PROTOCOL_LEVEL_OFFSET = 8;

test('auto asks for MQTT 5, falls back to 3.1.1 once with one info line, and the 3.1.1 connection stays', async (t) => {
  const levels: number[] = [];
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.once('data', (connect) => {
      const level = connect[PROTOCOL_LEVEL_OFFSET]!;
      levels.push(level);
      socket.write(Buffer.from([0x20, 0x02, 0x00, level === 4 ? 0x00 : 0x01]));
      if (level !== 4) socket.end();
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });

  const infoLines: string[] = [];
  const errors: Error[] = [];
  const client = connectMqtt(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 200, keepalive: 0 }, 'auto', {
    info: (_details, message) => infoLines.push(message),
  });
  client.on('error', (error) => errors.push(error));
  t.after(() => client.end(true));
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  assert.equal(protocolVersionOf(client), 4);
  assert.deepEqual(infoLines, ['the broker does not speak MQTT 5: using MQTT 3.1.1']);
  assert.ok(errors.every(isProtocolFallback), 'the refusal of MQTT 5 is marked as handled, so services need not warn about it');
  // Long enough for MQTT.js's reconnect timer to fire again (5 periods): it must not drop the new connection.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.deepEqual(levels, [5, 4], 'one MQTT 5 attempt, then one 3.1.1 connection, kept');
  assert.equal(client.connected, true);
});

test('5 and 4 ask for that version only; a broker without 5 is then a refusal, not a fallback', async (t) => {
  const server = createServer((socket) => {
    socket.once('data', () => socket.end(Buffer.from([0x20, 0x02, 0x00, 0x01])));
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const client = connectMqtt(`mqtt://127.0.0.1:${(server.address() as { port: number }).port}`, { reconnectPeriod: 0 }, '5', {
    info: () => assert.fail('no fallback'),
  });
  t.after(() => client.end(true));
  const error = await new Promise<Error & { code?: number }>((resolve) => client.once('error', resolve));
  assert.equal(error.code, 1);
  assert.equal(isProtocolFallback(error), false);
});
