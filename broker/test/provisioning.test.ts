/** BROKER_PROVISION_DIR: the first start creates what is missing, later starts reuse it. */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parsePasswordFile, verifyPassword } from '@camqtt/service-kit';
import { AccessRules } from '../src/index.js';
import { ServiceProcess } from '@camqtt/test-support';
import { brokerEnv, closeClients, connectAs, makeTempDir, startBroker, type BrokerUnderTest } from './helpers.js';

const FILES = ['tls/ca.crt', 'tls/ca.key', 'tls/server.crt', 'tls/server.key', 'users', 'acl', 'passwords/cam1', 'passwords/relay'];

async function snapshot(dir: string): Promise<Record<string, string>> {
  const entries = await Promise.all(FILES.map(async (file) => [file, await readFile(join(dir, file), 'utf8')] as const));
  return Object.fromEntries(entries);
}

describe('provisioning', () => {
  let dir: string | undefined;
  let broker: BrokerUnderTest | undefined;

  after(async () => {
    await broker?.process.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates the CA, certificate, users, ACL and passwords, then reuses them on the next start', async () => {
    dir = await makeTempDir();
    const accounts = { BROKER_PROVISION_ACCOUNTS: 'cam1:camera,relay:relay' };
    broker = await startBroker(dir, accounts);
    const first = await snapshot(dir);

    for (const secret of ['tls/ca.key', 'tls/server.key', 'passwords/cam1', 'passwords/relay', 'users']) {
      assert.equal((await stat(join(dir, secret))).mode & 0o777, 0o600, `${secret} is private`);
    }
    assert.match(first['tls/ca.crt']!, /BEGIN CERTIFICATE/);
    const users = parsePasswordFile(first.users!).entries;
    assert.deepEqual([...users.keys()].sort(), ['cam1', 'relay']);
    assert.ok(first.users!.startsWith('cam1:$7$101$'));
    assert.ok(await verifyPassword(first['passwords/cam1']!.trim(), users.get('cam1')!));
    assert.notEqual(first['passwords/cam1']!.trim(), first['passwords/relay']!.trim());
    const acl = AccessRules.parse(first.acl!);
    assert.equal(acl.canPublish({ username: 'cam1', clientId: 'x' }, 'camqtt/cam1/frame'), true);
    assert.equal(acl.canSubscribe({ username: 'relay', clientId: 'y' }, 'camqtt/+/status'), true);
    // Least privilege: no VIEWER_CAMERA_USERS, so the relay publishes no frames at all.
    assert.equal(acl.canPublish({ username: 'relay', clientId: 'y' }, 'camqtt/cam1/frame'), false);
    const client = await connectAs(broker, 'cam1');
    await closeClients(client);
    assert.equal(await broker.process.stop(), 0, 'SIGTERM ends the broker with exit code 0');

    // Second start, with one more account: nothing is rewritten, the new account is appended.
    broker = await startBroker(dir, { BROKER_PROVISION_ACCOUNTS: 'cam1:camera,relay:relay,cam3:camera' });
    const second = await snapshot(dir);
    for (const file of FILES.filter((name) => name !== 'users' && name !== 'acl')) {
      assert.equal(second[file], first[file], `${file} is reused`);
    }
    assert.ok(second.users!.startsWith(first.users!), 'existing users lines are kept');
    assert.ok(second.acl!.startsWith(first.acl!), 'existing ACL lines are kept');
    assert.ok(parsePasswordFile(second.users!).entries.has('cam3'));
    assert.equal(AccessRules.parse(second.acl!).canPublish({ username: 'cam3', clientId: 'z' }, 'camqtt/cam3/frame'), true);
    assert.equal((await stat(join(dir, 'passwords', 'cam3'))).mode & 0o777, 0o600);
    const cam3 = await connectAs(broker, 'cam3');
    const relay = await connectAs(broker, 'relay');
    await closeClients(cam3, relay);
  });
});

/** Starts a broker that must refuse its configuration: exit code 2; resolves with what it printed. */
async function refusedStart(dir: string, env: Record<string, string>): Promise<string> {
  const broker = ServiceProcess.start('broker', brokerEnv(dir, env));
  const code = await new Promise<number | null>((resolve) => broker.child.once('exit', resolve));
  assert.equal(code, 2, 'the broker stops with exit code 2');
  return broker.rawOutput.join('\n');
}

describe('BROKER_PROVISION_EXPORT', () => {
  it("gives each folder its own account's password and the CA certificate, and nothing else (never the CA key)", async (t) => {
    const dir = await makeTempDir();
    const publisherFolder = await makeTempDir();
    const webFolder = await makeTempDir();
    t.after(() => Promise.all([dir, publisherFolder, webFolder].map((folder) => rm(folder, { recursive: true, force: true }))));
    const broker = await startBroker(dir, { BROKER_PROVISION_EXPORT: `cam1:${publisherFolder},relay:${webFolder}` });
    t.after(() => broker.process.stop());
    for (const [folder, user] of [
      [publisherFolder, 'cam1'],
      [webFolder, 'relay'],
    ] as const) {
      assert.deepEqual((await readdir(folder)).sort(), ['ca.crt', 'password'], `${user}'s folder holds only its own secrets`);
      assert.equal(await readFile(join(folder, 'password'), 'utf8'), await readFile(join(dir, 'passwords', user), 'utf8'));
      assert.equal((await stat(join(folder, 'password'))).mode & 0o777, 0o600);
      assert.equal(await readFile(join(folder, 'ca.crt'), 'utf8'), await readFile(join(dir, 'tls', 'ca.crt'), 'utf8'));
      const client = await connectAs(broker, user);
      await closeClients(client);
    }
  });

  it('an account it names that was never provisioned (an older account list) is a warning: the broker and the other exports go on', async (t) => {
    const dir = await makeTempDir();
    const publisherFolder = await makeTempDir();
    const recorderFolder = await makeTempDir();
    t.after(() => Promise.all([dir, publisherFolder, recorderFolder].map((folder) => rm(folder, { recursive: true, force: true }))));
    const broker = await startBroker(dir, { BROKER_PROVISION_EXPORT: `nosuchuser:${recorderFolder},cam1:${publisherFolder}` });
    t.after(() => broker.process.stop());
    const warning = await broker.process.waitForLog((line) => line.user === 'nosuchuser');
    assert.match(String(warning.msg), /names nosuchuser, which has no provisioned password: add it to BROKER_PROVISION_ACCOUNTS/);
    assert.deepEqual(await readdir(recorderFolder), []);
    assert.deepEqual((await readdir(publisherFolder)).sort(), ['ca.crt', 'password']);
    await closeClients(await connectAs(broker, 'cam1'));
  });

  it('refuses an entry that is not user:/absolute/folder, naming the setting', async () => {
    const dir = await makeTempDir();
    assert.match(
      await refusedStart(dir, { BROKER_PROVISION_EXPORT: 'cam1:relative/folder' }),
      /^broker: configuration error: BROKER_PROVISION_EXPORT entry "cam1:relative\/folder" must be user:\/absolute\/folder$/m,
    );
    await rm(dir, { recursive: true, force: true });
  });
});

describe('BROKER_TLS_HOSTNAMES after the first start', () => {
  it('a changed list stops the broker with one line saying how to get a new certificate, instead of being ignored', async (t) => {
    const dir = await makeTempDir();
    t.after(() => rm(dir, { recursive: true, force: true }));
    const first = await startBroker(dir, { BROKER_TLS_HOSTNAMES: 'broker,localhost,127.0.0.1' });
    await first.process.stop();
    const again = await startBroker(dir, { BROKER_TLS_HOSTNAMES: 'broker,localhost,127.0.0.1' });
    await again.process.stop();
    assert.match(
      await refusedStart(dir, { BROKER_TLS_HOSTNAMES: 'broker,cams.example' }),
      /^broker: configuration error: BROKER_TLS_HOSTNAMES \(broker,cams\.example\) differs from the names of the provisioned certificate \(broker,localhost,127\.0\.0\.1\): remove .*\/tls to have a new CA/m,
    );
  });
});

describe('an ACL file made by an older camqtt', () => {
  it("gets the rules a provisioned account's role gained since, and keeps everything it had", async (t) => {
    const dir = await makeTempDir();
    t.after(() => rm(dir, { recursive: true, force: true }));
    const first = await startBroker(dir, { BROKER_PROVISION_ACCOUNTS: 'cam1:camera,relay:relay' });
    await first.process.stop();
    // What session 2 wrote: no image, answer or Home Assistant rules; plus a rule of the user's own.
    const old = [
      'user cam1',
      'topic write camqtt/cam1/frame',
      'topic write camqtt/cam1/status',
      'topic read camqtt/cam1/control',
      'user relay',
      'topic read camqtt/+/frame',
      'topic read camqtt/+/status',
      'topic write camqtt/+/control',
      'topic read private/relay/#',
      '',
    ].join('\n');
    await writeFile(join(dir, 'acl'), old);
    const again = await startBroker(dir, { BROKER_PROVISION_ACCOUNTS: 'cam1:camera,relay:relay', VIEWER_CAMERA_USERS: 'alice' });
    t.after(() => again.process.stop());
    const text = await readFile(join(dir, 'acl'), 'utf8');
    assert.ok(text.startsWith(old), 'what was there stays');
    const rules = AccessRules.parse(text);
    assert.equal(rules.canPublish({ username: 'cam1', clientId: 'x' }, 'camqtt/cam1/image'), true);
    assert.equal(rules.canPublish({ username: 'cam1', clientId: 'x' }, 'camqtt/cam1/answer'), true);
    assert.equal(rules.canSubscribe({ username: 'relay', clientId: 'y' }, 'camqtt/+/answer'), true);
    assert.equal(rules.canSubscribe({ username: 'relay', clientId: 'y' }, 'private/relay/#'), true);
    // The recorder's motion events and states reach the page through the relay, which may not write them.
    assert.equal(rules.canSubscribe({ username: 'relay', clientId: 'y' }, 'camqtt/+/event'), true);
    assert.equal(rules.canSubscribe({ username: 'relay', clientId: 'y' }, 'camqtt/+/recording'), true);
    assert.equal(rules.canPublish({ username: 'relay', clientId: 'y' }, 'camqtt/cam1/event'), false);
    assert.equal(rules.canPublish({ username: 'relay', clientId: 'y' }, 'camqtt/cam1/recording'), false);
    // Browser cameras (VIEWER_CAMERA_USERS=alice): the relay publishes for alice's page and reads its
    // commands, and passes for no other camera.
    assert.equal(rules.canPublish({ username: 'relay', clientId: 'y' }, 'camqtt/browser-alice/frame'), true);
    assert.equal(rules.canPublish({ username: 'relay', clientId: 'y' }, 'camqtt/cam1/frame'), false);
    assert.equal(rules.canPublish({ username: 'relay', clientId: 'y' }, 'camqtt/browser-bob/frame'), false);
    assert.equal(rules.canPublish({ username: 'relay', clientId: 'y' }, 'camqtt/browser-alice/status'), true);
    assert.equal(rules.canSubscribe({ username: 'relay', clientId: 'y' }, 'camqtt/browser-alice/control'), true);
    assert.equal(rules.canPublish({ username: 'relay', clientId: 'y' }, 'camqtt/browser-alice/answer'), false);
    // A third start adds nothing more.
    await again.process.stop();
    const third = await startBroker(dir, { BROKER_PROVISION_ACCOUNTS: 'cam1:camera,relay:relay', VIEWER_CAMERA_USERS: 'alice' });
    await third.process.stop();
    assert.equal(await readFile(join(dir, 'acl'), 'utf8'), text);
  });
});
