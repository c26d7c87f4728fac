/**
 * The built broker as a real process, with real MQTT.js clients and raw sockets: TLS with the
 * provisioned CA, accounts, access rules, the packet size cap, garbage input, health and metrics.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectAsync, type MqttClient } from 'mqtt';
import { repoRoot } from '@camqtt/test-support';
import {
  BrokerSuite,
  connectPacket,
  metricValue,
  nextMessage,
  passwordOf,
  publishHeader,
  RawConnection,
  waitForMetric,
} from './helpers.js';

describe('broker service', () => {
  const suite = new BrokerSuite();
  const client = (username: string): Promise<MqttClient> => suite.client(username);

  before(() => suite.start());
  after(() => suite.stop());

  it('carries a frame from a camera on TLS (provisioned CA) to the relay', async () => {
    const b = suite.broker;
    const relay = await client('relay');
    await relay.subscribeAsync('camqtt/+/frame');
    const camera = await connectAsync(`mqtts://localhost:${b.ports.mqtts}`, {
      username: 'cam1',
      password: await passwordOf(b.dir, 'cam1'),
      ca: await readFile(join(b.dir, 'tls', 'ca.crt')),
      rejectUnauthorized: true,
      reconnectPeriod: 0,
    });
    suite.keep(camera);
    const frame = randomBytes(50_000);
    const received = nextMessage(relay, 'camqtt/cam1/frame');
    await camera.publishAsync('camqtt/cam1/frame', frame);
    assert.deepEqual(await received, frame);
  });

  it('refuses a wrong password, logs it, and keeps serving others', async () => {
    const b = suite.broker;
    await assert.rejects(
      connectAsync(`mqtt://127.0.0.1:${b.ports.mqtt}`, {
        username: 'cam1',
        password: 'not-the-password',
        clientId: 'intruder',
        reconnectPeriod: 0,
      }),
      /bad user ?name or password/i,
    );
    const line = await b.process.waitForLog((l) => l.msg === 'login refused' && l.username === 'cam1');
    assert.equal(line.clientId, 'intruder');
    assert.equal(line.remoteAddress, '127.0.0.1');
    await assert.rejects(connectAsync(`mqtt://127.0.0.1:${b.ports.mqtt}`, { clientId: 'nobody', reconnectPeriod: 0 }));
    const relay = await client('relay');
    assert.equal(relay.connected, true);
  });

  it('picks up an account added with scripts/mqtt-user.ts without a restart', async () => {
    const b = suite.broker;
    const passwordFile = join(b.dir, 'dave-password');
    await writeFile(passwordFile, 'dave-s3cret\n', { mode: 0o600 });
    const usersFile = join(b.dir, 'users');
    const reloads = b.process.lines.filter((l) => l.msg === 'reloaded' && l.component === 'users').length;
    await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'scripts/mqtt-user.ts', 'add', usersFile, 'dave', '--password-file', passwordFile],
      { cwd: repoRoot },
    );
    await b.process.waitForLog(() => b.process.lines.filter((l) => l.msg === 'reloaded' && l.component === 'users').length > reloads);
    const dave = await connectAsync(`mqtt://127.0.0.1:${b.ports.mqtt}`, { username: 'dave', password: 'dave-s3cret', reconnectPeriod: 0 });
    suite.keep(dave);
    assert.equal(dave.connected, true);
    // SIGHUP re-reads the files too.
    b.process.child.kill('SIGHUP');
    await b.process.waitForLog((l) => l.msg === 'SIGHUP: reloading users and access rules');
  });

  it('does not deliver a frame the relay publishes', async () => {
    const b = suite.broker;
    const watcher = await client('admin');
    await watcher.subscribeAsync('camqtt/cam1/frame');
    const first = nextMessage(watcher, 'camqtt/cam1/frame');
    const relay = await client('relay');
    const refusedBefore = await metricValue(b, 'camqtt_broker_refused_publishes_total');
    relay.publish('camqtt/cam1/frame', Buffer.from('forged by relay'));
    await waitForMetric(b, 'camqtt_broker_refused_publishes_total', '', refusedBefore + 1);
    // The refused message was dropped before this one was sent, so this must be the first to arrive.
    const camera = await client('cam1');
    await camera.publishAsync('camqtt/cam1/frame', Buffer.from('real frame'));
    assert.equal((await first).toString(), 'real frame');
  });

  it('does not let camera cam1 publish under cam2', async () => {
    const b = suite.broker;
    const watcher = await client('admin');
    await watcher.subscribeAsync('camqtt/cam2/#');
    const first = nextMessage(watcher, 'camqtt/cam2/frame');
    const cam1 = await client('cam1');
    const refusedBefore = await metricValue(b, 'camqtt_broker_refused_publishes_total');
    cam1.publish('camqtt/cam2/frame', Buffer.from('spoofed'));
    await waitForMetric(b, 'camqtt_broker_refused_publishes_total', '', refusedBefore + 1);
    const cam2 = await client('cam2');
    await cam2.publishAsync('camqtt/cam2/frame', Buffer.from('from cam2'));
    assert.equal((await first).toString(), 'from cam2');
  });

  it('refuses the relay a camqtt/# subscription but grants camqtt/+/frame', async () => {
    const relay = await client('relay');
    // MQTT.js 5 turns any 0x80 in a SUBACK into a rejection that carries the SUBACK packet.
    const refusal: unknown = await relay.subscribeAsync(['camqtt/#', 'camqtt/+/frame']).then(
      () => assert.fail('a SUBACK with 0x80 was expected'),
      (error: unknown) => error,
    );
    const suback = (refusal as { packet?: { cmd: string; granted: number[] } }).packet;
    assert.equal(suback?.cmd, 'suback');
    assert.deepEqual(suback.granted, [128, 0]);
    assert.equal(relay.connected, true);
    // The granted one really delivers.
    const camera = await client('cam2');
    const received = nextMessage(relay, 'camqtt/cam2/frame');
    await camera.publishAsync('camqtt/cam2/frame', Buffer.from('granted'));
    assert.equal((await received).toString(), 'granted');
  });

  it('closes a connection that declares a 200 MB packet, before buffering it', async () => {
    const b = suite.broker;
    const raw = await RawConnection.open(b.ports.mqtt);
    raw.socket.write(connectPacket('raw-cam1', 'cam1', await passwordOf(b.dir, 'cam1')));
    const connack = await raw.waitForBytes(4);
    assert.deepEqual([...connack.subarray(0, 4)], [0x20, 0x02, 0x00, 0x00], 'CONNACK accepted');
    raw.socket.write(Buffer.concat([publishHeader(200 * 1024 * 1024), Buffer.from([0, 3, 0x61, 0x2f, 0x62, 1, 2, 3])]));
    await raw.closed;
    await waitForMetric(b, 'camqtt_broker_oversize_packets_total', '', 1);
    // Still serving.
    assert.equal((await client('relay')).connected, true);
  });

  it('survives garbage bytes on raw sockets', async () => {
    const b = suite.broker;
    // Reserved packet type 0: certainly malformed, so the connection must be closed.
    const malformed = await RawConnection.open(b.ports.mqtt);
    malformed.socket.write(Buffer.from([0x00, 0x02, 0xde, 0xad]));
    await malformed.closed;
    await waitForMetric(b, 'camqtt_broker_malformed_packets_total', '', 1);
    // Random bytes, a few times, plain and after a valid login.
    for (let round = 0; round < 5; round++) {
      const raw = await RawConnection.open(b.ports.mqtt);
      raw.socket.write(randomBytes(2048));
      raw.destroy();
      await raw.closed;
    }
    const loggedIn = await RawConnection.open(b.ports.mqtt);
    loggedIn.socket.write(connectPacket('raw-relay', 'relay', await passwordOf(b.dir, 'relay')));
    await loggedIn.waitForBytes(4);
    loggedIn.socket.write(Buffer.from([0x82, 0x03, 0xff, 0xff, 0xff, 0xfe, 0x00]));
    await loggedIn.closed;
    const response = await fetch(`http://127.0.0.1:${b.ports.http}/healthz`);
    assert.equal(response.status, 200);
    assert.equal((await client('relay')).connected, true);
    assert.equal(b.process.exitCode, null);
  });

  it('answers /healthz and /metrics', async () => {
    const b = suite.broker;
    const health = await fetch(`http://127.0.0.1:${b.ports.http}/healthz`);
    assert.equal(health.status, 200);
    assert.match(health.headers.get('content-type') ?? '', /application\/json/);
    const body = (await health.json()) as { status: string; clients: number };
    assert.equal(body.status, 'ok');
    assert.equal(typeof body.clients, 'number');
    assert.ok(body.clients >= 1, 'clients of the earlier tests are still connected');

    const metrics = await fetch(`http://127.0.0.1:${b.ports.http}/metrics`);
    assert.equal(metrics.status, 200);
    const text = await metrics.text();
    const value = (name: string): number => {
      const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
      assert.ok(match, `${name} is exported`);
      return Number(match[1]);
    };
    assert.ok(value('camqtt_broker_connected_clients') >= 1);
    assert.ok(value('camqtt_broker_messages_received_total') >= 3);
    assert.ok(value('camqtt_broker_messages_sent_total') >= 3);
    assert.ok(value('camqtt_broker_payload_bytes_received_total') >= 50_000);
    assert.ok(value('camqtt_broker_network_bytes_received_total') > 0);
    assert.ok(value('camqtt_broker_refused_logins_total') >= 1);
    assert.ok(value('camqtt_broker_refused_publishes_total') >= 2);
    assert.ok(value('camqtt_broker_refused_subscribes_total') >= 1);
    assert.ok(value('camqtt_broker_oversize_packets_total') >= 1);
    assert.ok(value('camqtt_broker_malformed_packets_total') >= 1);
    assert.equal((await fetch(`http://127.0.0.1:${b.ports.http}/nope`)).status, 404);
  });
});
