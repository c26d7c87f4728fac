/**
 * docker-compose.cluster.yml in a real Docker engine, as the README tells a user to start it: a
 * fresh copy of the checkout, `cp .env.example .env`, the "No camera?" edits, `docker compose -f
 * docker-compose.cluster.yml up`. Every service becomes healthy, a viewer through the balancer gets
 * the camera's frames, Redis refuses a client without its password, and a broker and a relay
 * killed with -9 leave the viewer watching after a short gap (printed). Not in `npm run
 * test:compose`'s glob (it was written where no Docker engine runs): run it on its own with
 * `node --import tsx --test --test-timeout=1500000 test/compose/cluster/*.test.ts`.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ReconnectingViewer } from '@camqtt/test-support';
import { ComposeProject, freePort, readmeNoCameraEdits, waitUntil } from '../compose-project.js';

const run = promisify(execFile);
const FILE = ['-f', 'docker-compose.cluster.yml'];
const SERVICES = ['redis', 'broker-1', 'broker-2', 'balancer', 'publisher', 'web-1', 'web-2'];

describe('docker compose -f docker-compose.cluster.yml up', () => {
  let project: ComposeProject;
  let ports: Record<string, string>;
  let viewer: ReconnectingViewer | undefined;

  before(async () => {
    assert.equal(spawnSync('docker', ['info'], { stdio: 'ignore' }).status, 0, 'a Docker engine must be running');
    ports = { WEB_PORT: String(await freePort()), BROKER_MQTTS_PORT: String(await freePort()) };
    project = new ComposeProject(readmeNoCameraEdits(), { ...process.env, ...ports });
    await project.compose([...FILE, 'build', '--parallel']);
    await project.compose([...FILE, 'up', '-d']);
  });

  after(async () => {
    viewer?.stop();
    if (!project) return;
    const logs = await project.compose([...FILE, 'logs', '--no-color', '--tail', '30']).catch((error: unknown) => String(error));
    process.stdout.write(`# compose logs (tail)\n${logs.replace(/^/gm, '# ')}\n`);
    await project.compose([...FILE, 'down', '-v', '--remove-orphans']).catch(() => undefined);
    await project.down();
  });

  const health = async (service: string): Promise<string> => {
    const id = (await project.compose([...FILE, 'ps', '-q', service])).trim();
    if (!id) return 'absent';
    return (await run('docker', ['inspect', '--format', '{{.State.Health.Status}}', id])).stdout.trim();
  };

  const framesAfter = async (since: number, label: string): Promise<number> => {
    await waitUntil(`frames at the viewer after ${label}`, () => Promise.resolve(viewer!.framesSince('cam1', since).length >= 10), 60_000);
    if (since === 0) return 0;
    const gap = viewer!.longestGap('cam1', since - 1000, Date.now());
    console.log(`${label}: the viewer went ${gap} ms without a frame`);
    return gap;
  };

  test('every service becomes healthy, and a viewer through the balancer gets the camera', async () => {
    for (const service of SERVICES) await waitUntil(`${service} healthy`, async () => (await health(service)) === 'healthy', 180_000);
    viewer = new ReconnectingViewer(`ws://127.0.0.1:${ports.WEB_PORT}/ws`, ['cam1']);
    viewer.start();
    await framesAfter(0, 'start');
    assert.equal(viewer.statuses.get('cam1')?.online, true, 'the camera shows online');
  });

  test('Redis refuses a client without its password', async () => {
    // The cluster's own compose file: project.exec would look in docker-compose.yml, which has no redis.
    const answer = await project.compose([...FILE, 'exec', '-T', 'redis', 'redis-cli', 'ping'], 60_000);
    assert.match(answer, /NOAUTH/);
  });

  test('kill -9 each broker, then each relay, in turn: the viewer keeps watching after a short gap', async () => {
    for (const service of ['broker-1', 'broker-2', 'web-1', 'web-2']) {
      const killedAt = Date.now();
      await project.compose([...FILE, 'kill', '-s', 'KILL', service]);
      const gap = await framesAfter(killedAt + 500, `${service} killed`);
      assert.ok(gap < 15_000, `${service}: back within 15 s (went ${gap} ms without a frame)`);
      await project.compose([...FILE, 'start', service]);
      await waitUntil(`${service} healthy again`, async () => (await health(service)) === 'healthy', 120_000);
    }
    assert.equal(viewer!.statuses.get('cam1')?.online, true, 'the camera still shows online');
  });
});
