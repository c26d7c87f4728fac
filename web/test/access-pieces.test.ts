/**
 * The access pieces on their own (see viewer-access.ts): the Origin policy, reading credentials
 * from a request, control rights, the login redirect target, and who the authenticator and the
 * guard let in. Requests are plain objects with the headers and the peer address these read.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { pino } from 'pino';
import { AccessGuard } from '../src/access-guard.js';
import { safeNext } from '../src/login-routes.js';
import { OriginPolicy } from '../src/origin-policy.js';
import { basicCredentials, requestCredentials } from '../src/request-credentials.js';
import { SESSION_COOKIE } from '../src/session-cookie.js';
import { parseTrustProxy } from '../src/trust-proxy.js';
import { ViewerAuthenticator } from '../src/viewer-authenticator.js';
import { ControlRights } from '../src/viewer-identity.js';

const PASSWORD = 'let me watch';

function request(headers: Record<string, string>, remoteAddress = '192.0.2.1'): IncomingMessage {
  return { headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

function authenticator(password = PASSWORD, control = new ControlRights(true, [])): ViewerAuthenticator {
  return new ViewerAuthenticator({
    password,
    users: undefined,
    control,
    sessionSecret: password ? randomBytes(32) : undefined,
    trustProxy: parseTrustProxy(''),
    log: pino({ level: 'silent' }),
  });
}

test('the Origin policy: no Origin, the same host, or WEB_ALLOWED_ORIGINS', () => {
  const policy = new OriginPolicy(['https://Cams.Example/', ' ', 'http://proxy.lan:8080']);
  const from = (origin: string | undefined, host = '127.0.0.1:8080'): boolean =>
    policy.allows(request(origin === undefined ? { host } : { host, origin }));
  assert.equal(from(undefined), true, 'not from a page (curl, VLC)');
  assert.equal(from('http://127.0.0.1:8080'), true);
  assert.equal(from('http://LOCALHOST:8080', 'localhost:8080'), true);
  assert.equal(from('http://127.0.0.1:9090'), false, 'another port is another origin');
  assert.equal(from('https://evil.example'), false);
  assert.equal(from('null'), false, 'a sandboxed page');
  assert.equal(from('https://cams.example'), true, 'listed, case and trailing slash aside');
  assert.equal(from('http://proxy.lan:8080'), true);
});

test('credentials: the session cookie among others, and basic auth split at the first colon', () => {
  assert.deepEqual(requestCredentials(request({ cookie: `theme=dark; ${SESSION_COOKIE}=a.b%2Ec; other=1` })), {
    session: 'a.b.c',
    basic: undefined,
  });
  assert.equal(requestCredentials(request({ cookie: `${SESSION_COOKIE}=%E0%A4%A` })).session, '%E0%A4%A', 'a bad escape stays as it is');
  assert.equal(requestCredentials(request({})).session, undefined);
  assert.deepEqual(basicCredentials(basic('alice', 'pass:with:colons')), { user: 'alice', password: 'pass:with:colons' });
  assert.deepEqual(basicCredentials(basic('', PASSWORD)), { user: '', password: PASSWORD });
  assert.equal(basicCredentials(`Basic ${Buffer.from('no colon').toString('base64')}`), undefined);
  assert.equal(basicCredentials('Bearer abc'), undefined);
  assert.equal(basicCredentials(undefined), undefined);
});

test('control rights: VIEWER_CONTROL=false stops everyone; VIEWER_CONTROL_USERS names who may', () => {
  assert.equal(new ControlRights(true, []).mayControl(undefined), true);
  assert.equal(new ControlRights(false, []).mayControl('alice'), false);
  assert.equal(new ControlRights(false, []).disabled, true);
  const onlyAlice = new ControlRights(true, [' alice ', '']);
  assert.equal(onlyAlice.mayControl('alice'), true);
  assert.equal(onlyAlice.mayControl('bob'), false);
  assert.equal(onlyAlice.mayControl(undefined), false, 'the shared password is nobody in particular');
});

test('after logging in, only a path on this site', () => {
  assert.equal(safeNext('/#camera=cam1'), '/#camera=cam1');
  for (const target of ['//evil.example', 'https://evil.example', '/\\evil.example', 'relative', 42, undefined])
    assert.equal(safeNext(target), '/');
});

test('the authenticator: the password over basic auth or the form, a session cookie, the throttle', async () => {
  const check = authenticator();
  assert.equal(check.required, true);
  assert.equal(await check.authenticate(request({})), 'no credentials');
  assert.equal(await check.authenticate(request({ authorization: basic('anyone', 'wrong') })), 'no credentials');
  const viewer = await check.authenticate(request({ authorization: basic('anyone', PASSWORD) }));
  assert.ok(typeof viewer === 'object');
  assert.equal(viewer.user, undefined);
  assert.equal(viewer.canControl, true);
  const cookie = `${SESSION_COOKIE}=${check.newSession(viewer)}`;
  assert.equal(await check.authenticate(request({ cookie })), check.sharedIdentity);

  // Ten wrong guesses from one address: it is refused unchecked, even with the right password...
  for (let i = 0; i < 10; i += 1) assert.equal(await check.logIn('', 'guess', '198.51.100.7'), undefined);
  assert.equal(await check.logIn('', PASSWORD, '198.51.100.7'), 'throttled');
  assert.equal(await check.authenticate(request({ authorization: basic('x', PASSWORD) }, '198.51.100.7')), 'throttled');
  // ...but its session cookie still holds, and other addresses are not affected.
  assert.equal(await check.authenticate(request({ cookie }, '198.51.100.7')), check.sharedIdentity);
  assert.ok(typeof (await check.logIn('', PASSWORD, '198.51.100.8')) === 'object');
});

test('the guard on a WebSocket upgrade: a foreign page is refused first, then the login decides', async () => {
  const origins = new OriginPolicy([]);
  const secured = authenticator();
  const guard = new AccessGuard(secured, origins, false);
  const host = '127.0.0.1:8080';
  assert.deepEqual(await guard.checkUpgrade(request({ host, origin: 'https://evil.example', authorization: basic('a', PASSWORD) })), {
    ok: false,
    status: 403,
    reason: 'foreign origin',
  });
  assert.deepEqual(await guard.checkUpgrade(request({ host })), { ok: false, status: 401, reason: 'not logged in' });
  assert.deepEqual(await guard.checkUpgrade(request({ host, authorization: basic('a', PASSWORD) })), {
    ok: true,
    viewer: secured.sharedIdentity,
  });
  // A request the guard never let through may watch, never control.
  assert.equal(guard.identity(request({ host })).canControl, false);

  const open = authenticator('', new ControlRights(true, []));
  const openGuard = new AccessGuard(open, origins, false);
  assert.equal(open.required, false);
  assert.deepEqual(await openGuard.checkUpgrade(request({ host })), { ok: true, viewer: open.sharedIdentity });
  assert.equal(openGuard.identity(request({ host })).canControl, true);
});
