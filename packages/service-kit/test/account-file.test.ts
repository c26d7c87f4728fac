import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AccountFile } from '../src/account-file.js';
import { formatPasswordLine, hashPassword } from '../src/password-file.js';

const MESSAGES = { reloaded: 'reloaded', reloadFailed: 'reload failed', cannotWatch: 'cannot watch', lineRefused: 'line refused' };

/** Keeps what was logged, to check what the file said about itself. */
class RecordingLog {
  readonly lines: Array<{ level: string; message: string; details: object }> = [];
  info(details: object, message: string): void {
    this.lines.push({ level: 'info', message, details });
  }
  warn(details: object, message: string): void {
    this.lines.push({ level: 'warn', message, details });
  }
  error(details: object, message: string): void {
    this.lines.push({ level: 'error', message, details });
  }
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'camqtt-account-file-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function passwordLines(accounts: Record<string, string>): Promise<string> {
  const lines = await Promise.all(
    Object.entries(accounts).map(async ([user, password]) => formatPasswordLine(user, await hashPassword(password))),
  );
  return `${lines.join('\n')}\n`;
}

test('loads the accounts, checks passwords, and says which accounts a reload revoked', async () => {
  const path = join(dir, 'users');
  await writeFile(path, await passwordLines({ alice: 'a-pass', bob: 'b-pass', carol: 'c-pass' }));
  const file = new AccountFile(path, new RecordingLog(), MESSAGES);
  await file.load();
  assert.deepEqual(file.usernames.sort(), ['alice', 'bob', 'carol']);
  assert.equal(await file.verify('alice', 'a-pass'), true);
  assert.equal(await file.verify('alice', 'b-pass'), false);
  assert.equal(await file.verify('mallory', 'a-pass'), false);
  const aliceFingerprint = file.fingerprint('alice');
  assert.ok(aliceFingerprint);

  const revoked: string[][] = [];
  file.onRevoked((users) => revoked.push([...users].sort()));
  // bob removed, carol with a new password, alice untouched.
  const aliceLine = (await readFile(path, 'utf8')).split('\n')[0]!;
  await writeFile(path, `${aliceLine}\n${await passwordLines({ carol: 'c-new' })}`);
  await file.reload();
  assert.deepEqual(revoked, [['bob', 'carol']]);
  assert.equal(file.fingerprint('alice'), aliceFingerprint);
  assert.equal(file.fingerprint('bob'), undefined);
  assert.equal(await file.verify('carol', 'c-pass'), false);
  assert.equal(await file.verify('carol', 'c-new'), true);

  // A reload that changes nothing revokes nothing.
  await file.reload();
  assert.equal(revoked.length, 1);
});

test('a reload that fails keeps the accounts loaded before; a bad line refuses only its user', async () => {
  const path = join(dir, 'users-2');
  await writeFile(path, `${await passwordLines({ alice: 'a-pass' })}dave:not-a-hash\n`);
  const log = new RecordingLog();
  const file = new AccountFile(path, log, MESSAGES);
  await file.load();
  assert.deepEqual(file.usernames, ['alice']);
  assert.ok(log.lines.some((line) => line.level === 'warn' && line.message === 'line refused'));

  await rm(path);
  await file.reload();
  assert.deepEqual(file.usernames, ['alice']);
  assert.equal(await file.verify('alice', 'a-pass'), true);
  assert.ok(log.lines.some((line) => line.level === 'error' && line.message === 'reload failed'));
});

test('without a file there is nothing to load, and nobody gets in', async () => {
  const file = new AccountFile(undefined, new RecordingLog(), MESSAGES);
  await file.load();
  await file.reload();
  assert.equal(file.size, 0);
  assert.equal(await file.verify('anyone', ''), false);
});
