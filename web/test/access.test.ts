/**
 * VIEWER_PASSWORD: every route but /healthz, the WebSocket, MJPEG streams and snapshots need the
 * login cookie or HTTP basic auth; a wrong password never gets in.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type ServiceProcess, waitFor } from '@camqtt/test-support';
import { assertSnapshotAndStream, upgradeStatus, LiveCamera, startRelay, TestViewer } from './support.js';

const PASSWORD = 'correct horse battery staple';
let live: LiveCamera;
let relay: ServiceProcess;
let baseUrl: string;
const viewers: TestViewer[] = [];

const basic = (password: string): string => `Basic ${Buffer.from(`anyone:${password}`).toString('base64')}`;

before(async () => {
  live = await LiveCamera.start();
  ({ relay, baseUrl } = await startRelay(live.broker.url, 0, { env: { VIEWER_PASSWORD: PASSWORD } }));
});

after(async () => {
  await Promise.all(viewers.map((viewer) => viewer.close()));
  await relay?.stop();
  await live?.stop();
});

test('without the password: /healthz answers, everything else is refused', async () => {
  assert.equal((await fetch(`${baseUrl}/healthz`)).status, 200);
  for (const path of ['/api/cameras', '/api/cameras/cam1/snapshot.jpg', '/api/cameras/cam1/stream.mjpg', '/metrics', '/main.js']) {
    const answer = await fetch(`${baseUrl}${path}`, { redirect: 'manual' });
    assert.equal(answer.status, 401, path);
    assert.match(answer.headers.get('www-authenticate') ?? '', /^Basic realm="camqtt"/, path);
  }
  const control = await fetch(`${baseUrl}/api/cameras/cam1/control`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{"fps":5}',
  });
  assert.equal(control.status, 401);
  // A person opening the page is sent to the form.
  const page = await fetch(`${baseUrl}/`, { redirect: 'manual', headers: { Accept: 'text/html' } });
  assert.equal(page.status, 303);
  assert.equal(page.headers.get('location'), '/login?next=%2F');
  assert.match(await (await fetch(`${baseUrl}/login`)).text(), /type="password"/);
  assert.equal(await upgradeStatus(baseUrl, {}), 401);
  assert.equal(await upgradeStatus(baseUrl, { Authorization: basic('wrong') }), 401);
  assert.equal((await fetch(`${baseUrl}/api/cameras`, { headers: { Authorization: basic('wrong') } })).status, 401);
  // The log line is written after the answer: wait for it rather than look once.
  await relay.waitForLog((line) => line.msg === 'wrong viewer password');
  assert.ok(!relay.lines.some((line) => typeof line.msg === 'string' && line.msg.startsWith('no VIEWER_PASSWORD')));
  assert.ok(relay.lines.some((line) => line.msg === 'viewer login: VIEWER_PASSWORD (HTTP basic auth with any user name)'));
  // No user name field without a users file.
  assert.doesNotMatch(await (await fetch(`${baseUrl}/login`)).text(), /name="username"/);
});

test('HTTP basic auth (any user name) opens the API, snapshots, the MJPEG stream and the WebSocket', async () => {
  const headers = { Authorization: basic(PASSWORD) };
  assert.equal((await fetch(`${baseUrl}/api/cameras`, { headers })).status, 200);
  assert.equal((await fetch(`${baseUrl}/metrics`, { headers })).status, 200);
  await assertSnapshotAndStream(baseUrl, 'cam1', headers);
  const viewer = await TestViewer.connect(baseUrl, headers);
  viewers.push(viewer);
  assert.equal((await viewer.event('hello')).canControl, true);
  await waitFor('a frame over the authorized WebSocket', () => viewer.frames.length > 0);
  // Logged in or not, a foreign page's upgrade is refused.
  assert.equal(await upgradeStatus(baseUrl, { ...headers, Origin: 'https://evil.example' }), 403);
});

test('the login form sets a session cookie that opens everything; a wrong password does not', async () => {
  const form = (password: string, next = '/#camera=cam1') => new URLSearchParams({ password, next }).toString();
  const post = (body: string, origin?: string) =>
    fetch(`${baseUrl}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(origin ? { Origin: origin } : {}) },
      body,
    });
  const wrong = await post(form('nope'));
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('set-cookie'), null);
  assert.equal((await post(form(PASSWORD), 'https://evil.example')).status, 403);
  // `next` is only ever a path on this site.
  assert.equal((await post(form(PASSWORD, '//evil.example/'))).headers.get('location'), '/');

  const ok = await post(form(PASSWORD));
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.get('location'), '/#camera=cam1');
  const setCookie = ok.headers.get('set-cookie') ?? '';
  assert.match(setCookie, /^camqtt_session=[^;]+;.*HttpOnly/i);
  assert.match(setCookie, /SameSite=Strict/i);
  const cookie = setCookie.split(';')[0]!;
  assert.equal((await fetch(`${baseUrl}/api/cameras`, { headers: { Cookie: cookie } })).status, 200);
  assert.equal((await fetch(`${baseUrl}/`, { headers: { Cookie: cookie } })).status, 200);
  assert.equal(await upgradeStatus(baseUrl, { Cookie: cookie }), 101);
  // A forged or tampered cookie is worth nothing.
  assert.equal((await fetch(`${baseUrl}/api/cameras`, { headers: { Cookie: `${cookie}x` } })).status, 401);
  assert.equal((await fetch(`${baseUrl}/api/cameras`, { headers: { Cookie: `camqtt_session=99999999999999.abc` } })).status, 401);
});
