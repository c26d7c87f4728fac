/**
 * The broker's side of BROKER_REDIS_URL, with Debian's redis-server on loopback: a Redis it cannot
 * reach stops it at start with one line naming the setting; a Redis lost while it runs leaves it
 * up, saying so on /healthz (a balancer then sends clients elsewhere), and a SIGTERM then still
 * ends it cleanly. (test/cluster.test.ts runs the whole cluster: brokers, relays, HAProxy.)
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LoopbackCluster, ServiceProcess, freePort, loopbackBrokerEnv, stackAccounts, waitFor } from '@camqtt/test-support';

describe('a broker with BROKER_REDIS_URL', () => {
  it('stops at start with one line naming BROKER_REDIS_URL when Redis cannot be reached', { timeout: 30_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'camqtt-redis-'));
    try {
      const port = await freePort();
      const broker = ServiceProcess.start('broker', {
        ...loopbackBrokerEnv(dir, stackAccounts([])),
        BROKER_REDIS_URL: `redis://127.0.0.1:${port}`,
      });
      const [code] = (await once(broker.child, 'close')) as [number | null];
      assert.equal(code, 2);
      const lines = broker.rawOutput.filter((line) => line.includes('configuration error'));
      assert.equal(lines.length, 1, broker.rawOutput.join('\n'));
      assert.match(
        lines[0]!,
        new RegExp(
          `^broker: configuration error: BROKER_REDIS_URL: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}/?: .*ECONNREFUSED`,
        ),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it(
    'stays up when Redis goes away, says so on /healthz, is healthy again once it is back, and stops cleanly',
    { timeout: 60_000 },
    async () => {
      const cluster = await LoopbackCluster.start({ brokers: 1, relays: 0, cameras: [] });
      try {
        const broker = cluster.brokers[0]!;
        const healthz = async (): Promise<{ status: number; body: { redis?: boolean } }> => {
          const response = await fetch(`http://127.0.0.1:${broker.ports.http}/healthz`);
          return { status: response.status, body: (await response.json()) as { redis?: boolean } };
        };
        assert.deepEqual(await healthz().then((h) => [h.status, h.body.redis]), [200, true]);
        cluster.redis!.child.kill('SIGKILL');
        await waitFor('/healthz to say 503', async () => (await healthz()).status === 503);
        assert.equal((await healthz()).body.redis, false);
        await cluster.restartRedis();
        await waitFor('/healthz to say 200 again', async () => (await healthz()).status === 200);
        cluster.redis!.child.kill('SIGKILL');
        await waitFor('/healthz to say 503', async () => (await healthz()).status === 503);
        assert.equal(await broker.process.stop(5000), 0, 'SIGTERM with Redis away still exits 0');
      } finally {
        await cluster.stop();
      }
    },
  );
});
