/**
 * The shared-password session: its key mixes in WEB_SECRET_FILE's random secret (a captured
 * cookie is no use for guessing the password offline) and survives a restart; behind a trusted
 * proxy (WEB_TRUST_PROXY) the cookie is Secure on https and failed logins count per real client;
 * logging out is a POST from this site.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ServiceProcess } from '@camqtt/test-support';
import { LiveCamera, PREFIX, startRelay } from './support.js';

const PASSWORD = 'correct horse battery staple';
let live: LiveCamera;
let dir: string;
const relays: ServiceProcess[] = [];

async function relayWith(env: Record<string, string>, port = 0): Promise<{ relay: ServiceProcess; port: number; baseUrl: string }> {
  const started = await startRelay(live.broker.url, port, { env: { VIEWER_PASSWORD: PASSWORD, ...env } });
  relays.push(started.relay);
  return started;
}

async function login(
  baseUrl: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; setCookie: string }> {
  const answer = await fetch(`${baseUrl}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ password, next: '/' }).toString(),
  });
  await answer.body?.cancel();
  return { status: answer.status, setCookie: answer.headers.get('set-cookie') ?? '' };
}

async function apiStatus(baseUrl: string, cookie: string): Promise<number> {
  const answer = await fetch(`${baseUrl}/api/cameras`, { headers: { Cookie: cookie } });
  await answer.body?.cancel();
  return answer.status;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'camqtt-sessions-'));
  live = await LiveCamera.start();
});

after(async () => {
  await Promise.all(relays.map((relay) => relay.stop()));
  await live?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('the session key mixes in WEB_SECRET_FILE (made 0600): a cookie from the password alone is refused, a real one survives a restart', async () => {
  const secretFile = join(dir, 'provision', 'web-secret');
  const first = await relayWith({ WEB_SECRET_FILE: secretFile });
  assert.equal((await stat(secretFile)).mode & 0o777, 0o600);
  assert.ok((await readFile(secretFile, 'utf8')).trim().length >= 64);

  const { setCookie } = await login(first.baseUrl, PASSWORD);
  const cookie = setCookie.split(';')[0]!;
  assert.equal(await apiStatus(first.baseUrl, cookie), 200);
  // What one could compute offline from a captured cookie's format and a guessed password.
  const expires = String(Date.now() + 3600_000);
  const passwordOnlyKey = createHmac('sha256', 'camqtt viewer session v1').update(PASSWORD).digest();
  const forged = `camqtt_session=${expires}.${createHmac('sha256', passwordOnlyKey).update(expires).digest('base64url')}`;
  assert.equal(await apiStatus(first.baseUrl, forged), 401);

  await first.relay.stop();
  const again = await relayWith({ WEB_SECRET_FILE: secretFile }, first.port);
  assert.equal(await apiStatus(again.baseUrl, cookie), 200, 'the session outlives the restart');
  const other = await relayWith({ WEB_SECRET_FILE: join(dir, 'other-secret') });
  assert.equal(await apiStatus(other.baseUrl, cookie), 401, 'another secret, same password: not valid');
});

test('a WEB_SECRET_FILE that cannot be made stops the relay with one line naming it', { timeout: 20_000 }, async () => {
  // Its folder would have to be made inside a regular file (the tests run as root: no EACCES).
  const notAFolder = join(dir, 'not-a-folder');
  await writeFile(notAFolder, '');
  const secretFile = join(notAFolder, 'web-secret');
  const relay = ServiceProcess.start('web', {
    WEB_HOST: '127.0.0.1',
    WEB_PORT: '0',
    MQTT_URL: live.broker.url,
    TOPIC_PREFIX: PREFIX,
    VIEWER_PASSWORD: PASSWORD,
    WEB_SECRET_FILE: secretFile,
  });
  relays.push(relay);
  await once(relay.child, 'close');
  assert.equal(relay.exitCode, 2);
  assert.equal(relay.rawOutput.length, 1, relay.rawOutput.join('\n'));
  assert.match(
    relay.rawOutput[0]!,
    /^web: configuration error: WEB_SECRET_FILE cannot be (read|created): \S+\/not-a-folder\/web-secret \(ENOTDIR\)/,
  );
});

test('behind a trusted proxy the cookie is Secure on https and failed logins count per forwarded client; untrusted, the headers are ignored', async () => {
  const secretFile = join(dir, 'web-secret');
  const trusting = await relayWith({ WEB_SECRET_FILE: secretFile, WEB_TRUST_PROXY: 'loopback' });
  const plain = await relayWith({ WEB_SECRET_FILE: secretFile });
  const https = { 'X-Forwarded-Proto': 'https' };
  assert.match((await login(trusting.baseUrl, PASSWORD, https)).setCookie, /;\s*Secure/i);
  assert.doesNotMatch((await login(trusting.baseUrl, PASSWORD)).setCookie, /;\s*Secure/i);
  assert.doesNotMatch((await login(plain.baseUrl, PASSWORD, https)).setCookie, /;\s*Secure/i);

  // Ten wrong passwords block the one client the proxy names, not everyone behind the proxy.
  const guesser = { 'X-Forwarded-For': '203.0.113.7' };
  for (let i = 0; i < 10; i++) assert.equal((await login(trusting.baseUrl, 'wrong', guesser)).status, 401);
  assert.equal((await login(trusting.baseUrl, PASSWORD, guesser)).status, 429);
  const neighbour = { 'X-Forwarded-For': '203.0.113.8' };
  assert.equal((await login(trusting.baseUrl, 'wrong', neighbour)).status, 401);
  assert.equal((await login(trusting.baseUrl, PASSWORD, neighbour)).status, 303);
  assert.ok(trusting.relay.lines.some((line) => line.msg === 'wrong viewer password' && line.remoteAddress === '203.0.113.7'));

  // Not trusted: a made-up X-Forwarded-For does not get a guesser out of the block.
  for (let i = 0; i < 10; i++) await login(plain.baseUrl, 'wrong', { 'X-Forwarded-For': `198.51.100.${i}` });
  assert.equal((await login(plain.baseUrl, PASSWORD, { 'X-Forwarded-For': '198.51.100.99' })).status, 429);
});

test('log out is a POST from this site; GET /logout and a foreign page log nobody out', async () => {
  const { baseUrl } = await relayWith({ WEB_SECRET_FILE: join(dir, 'web-secret') });
  const get = await fetch(`${baseUrl}/logout`, { redirect: 'manual' });
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  assert.equal(get.headers.get('set-cookie'), null);
  const foreign = await fetch(`${baseUrl}/logout`, { method: 'POST', redirect: 'manual', headers: { Origin: 'https://evil.example' } });
  assert.equal(foreign.status, 403);
  assert.equal(foreign.headers.get('set-cookie'), null);
  const own = await fetch(`${baseUrl}/logout`, { method: 'POST', redirect: 'manual', headers: { Origin: baseUrl } });
  assert.equal(own.status, 303);
  assert.equal(own.headers.get('location'), '/login');
  assert.match(own.headers.get('set-cookie') ?? '', /^camqtt_session=;.*Expires=Thu, 01 Jan 1970/i);
});
