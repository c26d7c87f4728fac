/**
 * Which listeners the broker opens: BROKER_MQTT_PORT=off leaves only TLS (and refuses to start
 * when there is no TLS either).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { connectAsync } from 'mqtt';
import { ServiceProcess } from '@camqtt/test-support';
import { brokerEnv, makeTempDir, passwordOf } from './helpers.js';

describe('broker listeners', () => {
  const dirs: string[] = [];
  const processes: ServiceProcess[] = [];
  const start = async (extra: Record<string, string>): Promise<{ broker: ServiceProcess; dir: string }> => {
    const dir = await makeTempDir();
    dirs.push(dir);
    const broker = ServiceProcess.start('broker', brokerEnv(dir, extra));
    processes.push(broker);
    return { broker, dir };
  };

  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('BROKER_MQTT_PORT=off opens no plain listener; TLS still serves', { timeout: 30_000 }, async () => {
    const { broker, dir } = await start({ BROKER_MQTT_PORT: 'off' });
    const mqtts = await broker.port('mqtts');
    await broker.waitForLog((l) => l.msg === 'broker ready');
    assert.equal(
      broker.lines.some((l) => l.msg === 'listening' && l.listener === 'mqtt'),
      false,
    );
    assert.ok(broker.lines.some((l) => l.msg === 'plain listener off (BROKER_MQTT_PORT=off)'));
    const camera = await connectAsync(`mqtts://localhost:${mqtts}`, {
      username: 'cam1',
      password: await passwordOf(dir, 'cam1'),
      ca: await readFile(join(dir, 'tls', 'ca.crt')),
      reconnectPeriod: 0,
    });
    assert.equal(camera.connected, true);
    await camera.endAsync();
  });

  it('BROKER_MQTT_PORT=off without TLS stops at start with one line naming the variable', { timeout: 30_000 }, async () => {
    const { broker } = await start({ BROKER_MQTT_PORT: 'off', BROKER_PROVISION_DIR: '', BROKER_ALLOW_ANONYMOUS: 'true' });
    const [code] = (await once(broker.child, 'close')) as [number | null];
    assert.equal(code, 2);
    assert.deepEqual(
      broker.rawOutput.filter((line) => line.includes('configuration error')),
      [
        'broker: configuration error: BROKER_MQTT_PORT is off but there is no TLS certificate (BROKER_TLS_CERT_FILE or BROKER_PROVISION_DIR): no listener would be left',
      ],
    );
  });

  it('a wrong BROKER_MQTT_PORT stops the broker with one line naming it', { timeout: 30_000 }, async () => {
    const { broker } = await start({ BROKER_MQTT_PORT: 'of' });
    const [code] = (await once(broker.child, 'close')) as [number | null];
    assert.equal(code, 2);
    assert.ok(
      broker.rawOutput.includes('broker: configuration error: BROKER_MQTT_PORT must be a port number (0-65535) or off (got "of")'),
      broker.rawOutput.join('\n'),
    );
  });
});
