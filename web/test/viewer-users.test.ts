/**
 * VIEWER_USERS_FILE and VIEWER_CONTROL_USERS with real parts: the users file is written by the
 * real scripts/mqtt-user.ts, the relay runs as its own process against a real broker, and
 * accounts are removed or re-passworded while it runs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot, type ServiceProcess, waitFor } from '@camqtt/test-support';
import { assertSnapshotAndStream, upgradeStatus, LiveCamera, startRelay, TestViewer } from './support.js';

const PASSWORDS = { alice: 'alice: correct horse', bob: 'bob: battery staple' } as const;
const SHARED_PASSWORD = 'the shared one';
let live: LiveCamera;
let dir: string;
const viewers: TestViewer[] = [];

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Runs the real account tool, as an operator would. */
async function mqttUser(command: 'add' | 'update' | 'remove', usersFile: string, user: string, password?: string): Promise<void> {
  const args = ['--import', 'tsx', 'scripts/mqtt-user.ts', command, usersFile, user];
  if (password !== undefined) {
    const passwordFile = join(dir, `${user}.password`);
    await writeFile(passwordFile, password, { mode: 0o600 });
    args.push('--password-file', passwordFile);
  }
  await promisify(execFile)(process.execPath, args, { cwd: repoRoot });
}

async function login(
  baseUrl: string,
  username: string,
  password: string,
): Promise<{ status: number; cookie: string | undefined; html: string }> {
  const answer = await fetch(`${baseUrl}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password, next: '/' }).toString(),
  });
  return { status: answer.status, cookie: answer.headers.get('set-cookie')?.split(';')[0], html: await answer.text() };
}

async function sendControl(baseUrl: string, headers: Record<string, string>): Promise<number> {
  const answer = await fetch(`${baseUrl}/api/cameras/cam1/control`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: '{"fps":5}',
  });
  await answer.body?.cancel();
  return answer.status;
}

/** The fake camera never answers a command: the relay says 202 after this wait (2 s outside tests). */
const NO_ANSWER_WAIT = { CAMQTT_TEST_ANSWER_TIMEOUT_MS: '300' };

async function status(url: string, headers: Record<string, string>): Promise<number> {
  const answer = await fetch(url, { headers });
  await answer.body?.cancel();
  return answer.status;
}

/** Reads an endless response until the relay ends it. */
async function readUntilEnd(response: Response, timeoutMs = 10_000): Promise<void> {
  const reader = response.body!.getReader();
  const timer = setTimeout(() => void reader.cancel(new Error('stream did not end')), timeoutMs);
  try {
    while (!(await reader.read()).done);
  } finally {
    clearTimeout(timer);
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'camqtt-viewer-users-'));
  live = await LiveCamera.start();
});

after(async () => {
  await Promise.all(viewers.map((viewer) => viewer.close()));
  await live?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a users file alone, control for alice only', () => {
  let relay: ServiceProcess;
  let baseUrl: string;
  let usersFile: string;
  let aliceCookie: string;

  before(async () => {
    usersFile = join(dir, 'viewers');
    await mqttUser('add', usersFile, 'alice', PASSWORDS.alice);
    await mqttUser('add', usersFile, 'bob', PASSWORDS.bob);
    ({ relay, baseUrl } = await startRelay(live.broker.url, 0, {
      env: { VIEWER_USERS_FILE: usersFile, VIEWER_CONTROL_USERS: 'alice', ...NO_ANSWER_WAIT },
    }));
  });

  after(async () => {
    await relay?.stop();
  });

  test('the start line says how viewers log in', () => {
    assert.ok(
      relay.lines.some((line) => line.msg === 'viewer login: users file with 2 users' && line.users === 2),
      'start line',
    );
    assert.ok(!relay.lines.some((line) => typeof line.msg === 'string' && line.msg.startsWith('no VIEWER_PASSWORD')));
  });

  test("an account's session holds on another relay with the same WEB_SECRET_FILE (a restart, or a cluster's second relay)", async () => {
    const alice = await login(baseUrl, 'alice', PASSWORDS.alice);
    assert.equal(alice.status, 303);
    const other = await startRelay(live.broker.url, 0, { env: { VIEWER_USERS_FILE: usersFile, ...NO_ANSWER_WAIT } });
    try {
      assert.equal(await status(`${other.baseUrl}/api/cameras`, { Cookie: alice.cookie! }), 200);
      const stranger = await startRelay(live.broker.url, 0, {
        env: { VIEWER_USERS_FILE: usersFile, WEB_SECRET_FILE: join(dir, 'another-secret'), ...NO_ANSWER_WAIT },
      });
      try {
        assert.equal(await status(`${stranger.baseUrl}/api/cameras`, { Cookie: alice.cookie! }), 401, 'another secret: not valid');
      } finally {
        await stranger.relay.stop();
      }
    } finally {
      await other.relay.stop();
    }
  });

  test('the form asks for a user name; a wrong user and a wrong password get the same answer', async () => {
    assert.match(await (await fetch(`${baseUrl}/login`)).text(), /name="username"[^>]* required/);
    const wrongUser = await login(baseUrl, 'mallory', PASSWORDS.alice);
    const wrongPassword = await login(baseUrl, 'alice', PASSWORDS.bob);
    for (const answer of [wrongUser, wrongPassword]) {
      assert.equal(answer.status, 401);
      assert.equal(answer.cookie, undefined);
      assert.match(answer.html, /<p class="login-error" role="alert">Wrong user name or password\.<\/p>/);
    }
    assert.equal(await status(`${baseUrl}/api/cameras`, { Authorization: basic('mallory', PASSWORDS.alice) }), 401);
    assert.equal(await upgradeStatus(baseUrl, {}), 401);
    assert.ok(relay.lines.some((line) => line.msg === 'wrong viewer password' && line.user === 'alice'));
    assert.ok(
      !relay.lines.some((line) => line.msg === 'wrong viewer password' && line.user === 'mallory'),
      'unknown names stay out of the log',
    );
  });

  test('logging in with the form opens the page, the API and the WebSocket; only alice may control', async () => {
    const alice = await login(baseUrl, 'alice', PASSWORDS.alice);
    assert.equal(alice.status, 303);
    assert.ok(alice.cookie?.startsWith('camqtt_session=u.'));
    aliceCookie = alice.cookie!;
    assert.equal(await status(`${baseUrl}/`, { Cookie: aliceCookie }), 200);
    assert.equal(await status(`${baseUrl}/api/cameras`, { Cookie: aliceCookie }), 200);
    const aliceViewer = await TestViewer.connect(baseUrl, { Cookie: aliceCookie });
    viewers.push(aliceViewer);
    assert.equal((await aliceViewer.event('hello')).canControl, true);
    await waitFor("a frame over alice's WebSocket", () => aliceViewer.frames.length > 0);
    assert.equal(await sendControl(baseUrl, { Cookie: aliceCookie }), 202);

    const bob = await login(baseUrl, 'bob', PASSWORDS.bob);
    const bobViewer = await TestViewer.connect(baseUrl, { Cookie: bob.cookie! });
    viewers.push(bobViewer);
    assert.equal((await bobViewer.event('hello')).canControl, false);
    assert.equal(await sendControl(baseUrl, { Cookie: bob.cookie! }), 403);
    assert.equal(await sendControl(baseUrl, { Authorization: basic('bob', PASSWORDS.bob) }), 403);
    assert.equal(await sendControl(baseUrl, { Authorization: basic('alice', PASSWORDS.alice) }), 202);
    // A session names its user: changing the name in the cookie breaks the signature.
    const [, , expires, signature] = aliceCookie.split('=')[1]!.split('.');
    const forged = `camqtt_session=u.${Buffer.from('bob').toString('base64url')}.${expires}.${signature}`;
    assert.equal(await status(`${baseUrl}/api/cameras`, { Cookie: forged }), 401);
  });

  test('HTTP basic auth with user and password opens snapshots and the MJPEG stream', async () => {
    const headers = { Authorization: basic('bob', PASSWORDS.bob) };
    await assertSnapshotAndStream(baseUrl, 'cam1', headers);
    assert.equal(await upgradeStatus(baseUrl, headers), 101);
    // No shared password is set, so a right password under another name is wrong.
    assert.equal(await status(`${baseUrl}/api/cameras/cam1/snapshot.jpg`, { Authorization: basic('alice', PASSWORDS.bob) }), 401);
  });

  test('removing a user from the file ends their sessions, sockets and streams without a restart', async () => {
    const bob = await login(baseUrl, 'bob', PASSWORDS.bob);
    const bobCookie = bob.cookie!;
    const bobViewer = await TestViewer.connect(baseUrl, { Cookie: bobCookie });
    viewers.push(bobViewer);
    await bobViewer.event('hello');
    const bobClosed = once(bobViewer.socket, 'close');
    const stream = await fetch(`${baseUrl}/api/cameras/cam1/stream.mjpg`, { headers: { Authorization: basic('bob', PASSWORDS.bob) } });
    assert.equal(stream.status, 200);
    const streamEnded = readUntilEnd(stream);

    await mqttUser('remove', usersFile, 'bob');
    await waitFor("bob's session to end", async () => (await status(`${baseUrl}/api/cameras`, { Cookie: bobCookie })) === 401);
    // What the page asks when its socket is refused: an answer, never a basic-auth challenge.
    const session = await fetch(`${baseUrl}/session`, { headers: { Cookie: bobCookie } });
    assert.equal(session.status, 200);
    assert.equal(session.headers.get('www-authenticate'), null);
    assert.deepEqual(await session.json(), { loginRequired: true, loggedIn: false });
    assert.deepEqual(await (await fetch(`${baseUrl}/session`, { headers: { Cookie: aliceCookie } })).json(), {
      loginRequired: true,
      loggedIn: true,
    });
    assert.equal(await status(`${baseUrl}/api/cameras/cam1/snapshot.jpg`, { Authorization: basic('bob', PASSWORDS.bob) }), 401);
    assert.equal(await upgradeStatus(baseUrl, { Cookie: bobCookie }), 401);
    const [code] = (await bobClosed) as [number];
    assert.equal(code, 1008);
    await streamEnded;
    // Alice is untouched.
    assert.equal(await status(`${baseUrl}/api/cameras`, { Cookie: aliceCookie }), 200);
  });

  test("changing a user's password ends their sessions; the new password works", async () => {
    const newPassword = 'alice: a new one';
    await mqttUser('update', usersFile, 'alice', newPassword);
    await waitFor("alice's old session to end", async () => (await status(`${baseUrl}/api/cameras`, { Cookie: aliceCookie })) === 401);
    assert.equal(await status(`${baseUrl}/api/cameras`, { Authorization: basic('alice', PASSWORDS.alice) }), 401);
    assert.equal(await status(`${baseUrl}/api/cameras`, { Authorization: basic('alice', newPassword) }), 200);
    const again = await login(baseUrl, 'alice', newPassword);
    assert.equal(await status(`${baseUrl}/api/cameras`, { Cookie: again.cookie! }), 200);
  });

  test('wrong user names count toward the per-address throttle; a valid session still gets in', async () => {
    const again = await login(baseUrl, 'alice', 'alice: a new one');
    await waitFor(
      'the address to be throttled',
      async () => (await status(`${baseUrl}/api/cameras`, { Authorization: basic(`nobody-${Math.random()}`, 'x') })) === 429,
    );
    assert.equal((await login(baseUrl, 'alice', 'alice: a new one')).status, 429);
    // Right credentials over basic auth are not even checked while throttled...
    assert.equal(await status(`${baseUrl}/api/cameras`, { Authorization: basic('alice', 'alice: a new one') }), 429);
    // ...but a session cookie, which cannot be guessed, still works.
    assert.equal(await status(`${baseUrl}/api/cameras`, { Cookie: again.cookie! }), 200);
  });
});

describe('a users file and VIEWER_PASSWORD together, control for alice only', () => {
  let relay: ServiceProcess;
  let baseUrl: string;

  before(async () => {
    const usersFile = join(dir, 'viewers-and-password');
    await mqttUser('add', usersFile, 'alice', PASSWORDS.alice);
    ({ relay, baseUrl } = await startRelay(live.broker.url, 0, {
      env: { VIEWER_USERS_FILE: usersFile, VIEWER_PASSWORD: SHARED_PASSWORD, VIEWER_CONTROL_USERS: 'alice', ...NO_ANSWER_WAIT },
    }));
    // Control commands go only to cameras the relay knows; wait for cam1's retained status.
    await waitFor('cam1 known to the relay', async () => {
      const answer = await fetch(`${baseUrl}/api/cameras`, { headers: { Authorization: basic('anyone', SHARED_PASSWORD) } });
      return ((await answer.json()) as Array<{ camera: string }>).some((entry) => entry.camera === 'cam1');
    });
  });

  after(async () => {
    await relay?.stop();
  });

  test('both are accepted, but the shared password never counts as alice', async () => {
    assert.ok(relay.lines.some((line) => line.msg === 'viewer login: users file with 1 user, and VIEWER_PASSWORD with any user name'));
    assert.doesNotMatch(await (await fetch(`${baseUrl}/login`)).text(), /name="username"[^>]* required/);
    assert.equal(await status(`${baseUrl}/api/cameras`, { Authorization: basic('anyone', SHARED_PASSWORD) }), 200);
    assert.equal(await status(`${baseUrl}/api/cameras`, { Authorization: basic('alice', PASSWORDS.alice) }), 200);
    // The shared password under alice's name lets one watch, not control.
    assert.equal(await sendControl(baseUrl, { Authorization: basic('alice', SHARED_PASSWORD) }), 403);
    assert.equal(await sendControl(baseUrl, { Authorization: basic('alice', PASSWORDS.alice) }), 202);

    const shared = await login(baseUrl, '', SHARED_PASSWORD);
    assert.equal(shared.status, 303);
    const sharedViewer = await TestViewer.connect(baseUrl, { Cookie: shared.cookie! });
    viewers.push(sharedViewer);
    assert.equal((await sharedViewer.event('hello')).canControl, false);
    const alice = await login(baseUrl, 'alice', PASSWORDS.alice);
    const aliceViewer = await TestViewer.connect(baseUrl, { Cookie: alice.cookie! });
    viewers.push(aliceViewer);
    assert.equal((await aliceViewer.event('hello')).canControl, true);
  });
});
