/**
 * Debian's mosquitto-clients as a second real client: TLS with the provisioned CA and a password,
 * retained messages, a refused publish that is acknowledged and dropped, and a password file edited
 * by `mosquitto_passwd` and by `scripts/mqtt-user.ts` while the broker runs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '@camqtt/test-support';
import { makeTempDir, passwordOf, startBroker, stopBroker, type BrokerUnderTest } from './helpers.js';

const run = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command and resolves with its exit code and output, whatever the code. */
async function outcome(command: string, args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: repoRoot });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('mosquitto_pub / mosquitto_sub against the broker', () => {
  let broker: BrokerUnderTest | undefined;

  /** Connection arguments: TLS with the provisioned CA, the given account, 127.0.0.1. */
  async function tls(username: string, password?: string): Promise<string[]> {
    const b = broker!;
    return [
      '-h',
      'localhost',
      '-p',
      String(b.ports.mqtts),
      '--cafile',
      join(b.dir, 'tls', 'ca.crt'),
      '-u',
      username,
      '-P',
      password ?? (await passwordOf(b.dir, username)),
      '-V',
      'mqttv311',
    ];
  }

  function plain(username: string, password: string): string[] {
    return ['-h', '127.0.0.1', '-p', String(broker!.ports.mqtt), '-u', username, '-P', password, '-V', 'mqttv311'];
  }

  before(async () => {
    broker = await startBroker(await makeTempDir());
  });

  after(async () => {
    await stopBroker(broker);
  });

  it('publishes a retained status over TLS that mosquitto_sub receives, then clears it', async () => {
    const published = await outcome('mosquitto_pub', [
      ...(await tls('cam1')),
      '-t',
      'camqtt/cam1/status',
      '-m',
      '{"online":true}',
      '-r',
      '-q',
      '1',
    ]);
    assert.equal(published.code, 0, published.stderr);
    const received = await outcome('mosquitto_sub', [...(await tls('relay')), '-t', 'camqtt/+/status', '-C', '1', '-v']);
    assert.equal(received.code, 0, received.stderr);
    assert.equal(received.stdout.trim(), 'camqtt/cam1/status {"online":true}');
    const cleared = await outcome('mosquitto_pub', [...(await tls('cam1')), '-t', 'camqtt/cam1/status', '-n', '-r', '-q', '1']);
    assert.equal(cleared.code, 0, cleared.stderr);
    // Retained-only mode ends at once when there is no retained message left.
    const none = await outcome('mosquitto_sub', [...(await tls('relay')), '-t', 'camqtt/+/status', '--retained-only', '-W', '2']);
    assert.equal(none.stdout, '');
  });

  it('refuses a wrong password over TLS', async () => {
    const refused = await outcome('mosquitto_sub', [...(await tls('relay', 'wrong-password')), '-t', 'camqtt/+/status', '-C', '1']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /not authori[sz]ed|bad user name or password/i);
  });

  it('acknowledges a refused QoS 1 publish without disconnecting (mosquitto_pub exits 0)', async () => {
    const b = broker!;
    const forged = await outcome('mosquitto_pub', [
      ...(await tls('cam1')),
      '-t',
      'camqtt/cam2/frame',
      '-m',
      'forged',
      '-q',
      '1',
      '-i',
      'mosq-forger',
    ]);
    assert.equal(forged.code, 0, forged.stderr);
    await b.process.waitForLog((l) => l.msg === 'publish refused' && l.clientId === 'mosq-forger');
  });

  it('accepts a user added by mosquitto_passwd and drops one removed by scripts/mqtt-user.ts', async () => {
    const b = broker!;
    const users = join(b.dir, 'users');
    const reloads = (): number => b.process.lines.filter((l) => l.msg === 'reloaded' && l.component === 'users').length;
    let before = reloads();
    await run('mosquitto_passwd', ['-b', users, 'erin', 'erin-pass']);
    await b.process.waitForLog(() => reloads() > before);
    // Logged in (exit 0); the publish itself is refused and dropped, as erin has no ACL rules.
    const asErin = await outcome('mosquitto_pub', [...plain('erin', 'erin-pass'), '-t', 'anything', '-m', 'x', '-q', '1']);
    assert.equal(asErin.code, 0, asErin.stderr);

    before = reloads();
    await run(process.execPath, ['--import', 'tsx', 'scripts/mqtt-user.ts', 'remove', users, 'erin'], { cwd: repoRoot });
    await b.process.waitForLog(() => reloads() > before);
    const gone = await outcome('mosquitto_pub', [...plain('erin', 'erin-pass'), '-t', 'anything', '-m', 'x', '-q', '1']);
    assert.notEqual(gone.code, 0);
  });
});
