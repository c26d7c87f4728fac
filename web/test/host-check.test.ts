/**
 * DNS rebinding: without a login the relay serves only requests naming it by a loopback name or
 * one in WEB_ALLOWED_HOSTS, over HTTP and WebSocket alike; with a login any name is served.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { type ServiceProcess, waitFor } from '@camqtt/test-support';
import { LiveCamera, startRelay } from './support.js';

let live: LiveCamera;
let open: { relay: ServiceProcess; port: number };
let withLogin: { relay: ServiceProcess; port: number };

/**
 * The status a GET (or a WebSocket upgrade) with this exact Host header gets: fetch() and ws set
 * Host from the URL, as a browser does, so a rebound name needs a raw request.
 */
async function statusWithHost(port: number, path: string, host: string, upgrade = false): Promise<number> {
  const headers: Record<string, string> = { Host: host };
  if (upgrade)
    Object.assign(headers, {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    });
  return await new Promise<number>((resolve, reject) => {
    const sent = request({ host: '127.0.0.1', port, path, headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    sent.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve(response.statusCode ?? 0);
    });
    sent.on('error', reject);
    sent.end();
  });
}

before(async () => {
  live = await LiveCamera.start();
  open = await startRelay(live.broker.url, 0, { env: { WEB_ALLOWED_HOSTS: 'cams.lan, Kitchen.Example.' } });
  withLogin = await startRelay(live.broker.url, 0, { env: { VIEWER_PASSWORD: 'pw' } });
});

after(async () => {
  await open?.relay.stop();
  await withLogin?.relay.stop();
  await live?.stop();
});

test('without a login: a rebound name gets 403 for snapshots, the API, the page and the WebSocket; loopback and WEB_ALLOWED_HOSTS names are served', async () => {
  const { port, relay } = open;
  const snapshot = '/api/cameras/cam1/snapshot.jpg';
  await waitFor('a first frame', async () => (await statusWithHost(port, snapshot, `127.0.0.1:${port}`)) === 200);
  for (const host of [
    'evil.example:8080',
    `evil.example:${port}`,
    'evil.example',
    '10.0.0.5:8080',
    'localhost.evil.example',
    '127.0.0.1.evil.example',
  ]) {
    for (const path of [snapshot, '/api/cameras', '/', '/main.js'])
      assert.equal(await statusWithHost(port, path, host), 403, `${host} ${path}`);
    assert.equal(await statusWithHost(port, '/ws', host, true), 403, `${host} /ws`);
  }
  // The control endpoint too (its Origin check alone passes a rebound page: same name).
  const control = await new Promise<number>((resolve, reject) => {
    const body = '{"fps":5}';
    const sent = request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/cameras/cam1/control',
        method: 'POST',
        headers: { Host: 'evil.example:8080', Origin: 'http://evil.example:8080', 'Content-Type': 'application/json' },
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    sent.on('error', reject);
    sent.end(body);
  });
  assert.equal(control, 403);
  for (const host of [
    `127.0.0.1:${port}`,
    `localhost:${port}`,
    'localhost',
    `[::1]:${port}`,
    `cam.localhost:${port}`,
    `cams.lan:${port}`,
    'CAMS.LAN',
    'kitchen.example',
  ]) {
    assert.equal(await statusWithHost(port, snapshot, host), 200, host);
    assert.equal(await statusWithHost(port, '/ws', host, true), 101, `${host} /ws`);
  }
  // Container health checks name the service as they like.
  assert.equal(await statusWithHost(port, '/healthz', 'web:8080'), 200);
  assert.ok(
    relay.lines.some((line) => line.level === 40 && line.host === 'evil.example:8080' && /WEB_ALLOWED_HOSTS/.test(String(line.msg))),
  );
  assert.equal(relay.exitCode, null);
});

test('with a login any name is served (the session cookie is bound to the real one)', async () => {
  const auth = `Basic ${Buffer.from('x:pw').toString('base64')}`;
  const status = await new Promise<number>((resolve, reject) => {
    const sent = request(
      { host: '127.0.0.1', port: withLogin.port, path: '/api/cameras', headers: { Host: 'cams.example.com', Authorization: auth } },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    sent.on('error', reject);
    sent.end();
  });
  assert.equal(status, 200);
});
