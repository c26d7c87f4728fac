/**
 * Who may hold a session: a client id in use by one account cannot be taken over by another (a
 * camera's `camqtt-pub-<id>` belongs to its own account even while it is offline), and removing an
 * account or changing its password in the users file ends its connections.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { repoRoot } from '@camqtt/test-support';
import { BrokerSuite, metricValue, nextMessage, passwordOf } from './helpers.js';

/** Resolves when the client's connection closes (MQTT.js's emitter is not a Node EventEmitter in its types). */
function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

describe('broker sessions', () => {
  const suite = new BrokerSuite();
  const client = (username: string, options: IClientOptions = {}): Promise<MqttClient> => suite.client(username, options);

  before(() => suite.start());
  after(() => suite.stop());

  /** Connects as `username` with `clientId`; resolves with the refusal's message, or fails if let in. */
  async function refused(username: string, clientId: string): Promise<string> {
    const b = suite.broker;
    const error: unknown = await connectAsync(`mqtt://127.0.0.1:${b.ports.mqtt}`, {
      username,
      password: await passwordOf(b.dir, username),
      clientId,
      reconnectPeriod: 0,
    }).then(
      (intruder) => {
        suite.keep(intruder);
        assert.fail(`${username} was let in as ${clientId}`);
      },
      (reason: unknown) => reason,
    );
    return (error as Error).message;
  }

  it("refuses another account a client id in use, and a camera's id to any other account", { timeout: 30_000 }, async () => {
    const b = suite.broker;
    const watcher = await client('admin');
    await watcher.subscribeAsync('camqtt/cam1/status');
    const camera = await client('cam1', {
      clientId: 'camqtt-pub-cam1',
      will: { topic: 'camqtt/cam1/status', payload: Buffer.from('offline (last will)'), qos: 1, retain: false },
    });
    const relay = await client('relay', { clientId: 'camqtt-web-0123456789ab' });

    assert.match(await refused('cam2', 'camqtt-pub-cam1'), /identifier rejected/i);
    assert.match(await refused('admin', 'camqtt-pub-cam1'), /identifier rejected/i);
    assert.match(await refused('cam2', 'camqtt-web-0123456789ab'), /identifier rejected/i);
    // Reserved even while its camera is not connected.
    assert.match(await refused('admin', 'camqtt-pub-cam2'), /identifier rejected/i);
    const line = await b.process.waitForLog((l) => l.msg === 'login refused' && l.username === 'cam2' && l.clientId === 'camqtt-pub-cam1');
    assert.match(String(line.reason), /reserved for account cam1/);

    // The camera was never kicked off: the next status is its own, not its last will.
    const next = nextMessage(watcher, 'camqtt/cam1/status');
    await camera.publishAsync('camqtt/cam1/status', Buffer.from('still here'), { qos: 1 });
    assert.equal((await next).toString(), 'still here');
    assert.equal(camera.connected && relay.connected, true);
    assert.equal(
      b.process.lines.some((l) => l.msg === 'client disconnected' && l.clientId === 'camqtt-pub-cam1'),
      false,
    );
    assert.ok((await metricValue(b, 'camqtt_broker_refused_logins_total', 'reason="client_id_taken"')) >= 4);

    // The same account may still take its own id over (a camera reconnecting before its old
    // connection timed out), as MQTT says.
    const oldClosed = closed(camera);
    const again = await client('cam1', { clientId: 'camqtt-pub-cam1' });
    await oldClosed;
    assert.equal(again.connected, true);
  });

  it("disconnects an account's clients when the users file removes it or changes its password", { timeout: 30_000 }, async () => {
    const b = suite.broker;
    const usersFile = join(b.dir, 'users');
    const mqttUser = async (...args: string[]): Promise<void> => {
      await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/mqtt-user.ts', ...args], { cwd: repoRoot });
    };
    const relay = await client('relay');
    const cam2 = await client('cam2');
    const cam1 = await client('cam1');
    const relayClosed = closed(relay);
    const cam2Closed = closed(cam2);

    await mqttUser('remove', usersFile, 'relay');
    await relayClosed;
    const line = await b.process.waitForLog(
      (l) => l.msg === 'account revoked; client disconnected' && l.clientId === relay.options.clientId,
    );
    assert.equal(line.username, 'relay');

    const passwordFile = join(b.dir, 'cam2-new-password');
    await writeFile(passwordFile, 'a new password for cam2\n', { mode: 0o600 });
    await mqttUser('update', usersFile, 'cam2', '--password-file', passwordFile);
    await cam2Closed;
    await b.process.waitForLog((l) => l.msg === 'account revoked; client disconnected' && l.username === 'cam2');

    // Others stay, and the new password works.
    assert.equal(cam1.connected, true);
    await cam1.publishAsync('camqtt/cam1/status', Buffer.from('unaffected'), { qos: 1 });
    const renewed = await connectAsync(`mqtt://127.0.0.1:${b.ports.mqtt}`, {
      username: 'cam2',
      password: 'a new password for cam2',
      reconnectPeriod: 0,
    });
    suite.keep(renewed);
    assert.equal(renewed.connected, true);
    assert.ok((await metricValue(b, 'camqtt_broker_refused_connections_total', 'reason="account_revoked"')) >= 2);
  });
});
