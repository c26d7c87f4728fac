/**
 * The brokers a case can run against: the bundled Aedes broker (plain MQTT on loopback, or MQTT
 * over TLS as docker compose wires it), and Debian's Mosquitto as the stand-in for a cloud broker.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ServiceProcess, sleep, startService } from './processes.js';
import { loopbackBrokerEnv } from '@camqtt/test-support';

export type BrokerKind = 'aedes' | 'aedes-tls' | 'mosquitto';
export const MOSQUITTO_BINARY = '/usr/sbin/mosquitto';

/** MQTT_* settings for a client of the broker, and what the bench's own MQTT client uses. */
export interface RunningBroker {
  kind: BrokerKind;
  process: ServiceProcess;
  url: string;
  /** MQTT_URL, MQTT_USERNAME, MQTT_PASSWORD_FILE, MQTT_CA_FILE for a service logging in as `user`. */
  clientEnv(user: string): Record<string, string>;
  /** Options for the bench's own MQTT.js client (an account that may read and write anything). */
  benchClient: { username?: string; password?: string; ca?: string };
  stop(): Promise<void>;
}

export async function startAedes(provisionDir: string, accounts: string, tls: boolean, nodeArgs: string[] = []): Promise<RunningBroker> {
  const process = startService(
    'broker',
    tls ? 'broker (aedes, tls)' : 'broker (aedes)',
    {
      LOG_LEVEL: 'info',
      ...loopbackBrokerEnv(provisionDir, accounts),
    },
    nodeArgs,
  );
  try {
    const port = await process.port(tls ? 'mqtts' : 'mqtt', 60_000);
    const caFile = join(provisionDir, 'tls', 'ca.crt');
    const url = tls ? `mqtts://127.0.0.1:${port}` : `mqtt://127.0.0.1:${port}`;
    const adminPassword = (await readFile(join(provisionDir, 'passwords', 'admin'), 'utf8')).trim();
    return {
      kind: tls ? 'aedes-tls' : 'aedes',
      process,
      url,
      clientEnv: (user) => ({
        MQTT_URL: url,
        MQTT_USERNAME: user,
        MQTT_PASSWORD_FILE: join(provisionDir, 'passwords', user),
        ...(tls ? { MQTT_CA_FILE: caFile } : {}),
      }),
      benchClient: { username: 'admin', password: adminPassword, ...(tls ? { ca: await readFile(caFile, 'utf8') } : {}) },
      stop: async () => {
        await process.stop();
      },
    };
  } catch (error) {
    await process.stop();
    throw error;
  }
}

export function mosquittoAvailable(): boolean {
  return existsSync(MOSQUITTO_BINARY);
}

/** Waits until something accepts TCP connections on the port, for at most `timeoutMs`. */
async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/**
 * Mosquitto with its own config file in a temp folder: anonymous clients, no persistence, one
 * plain listener on loopback, as a cloud broker's defaults would be (minus the TLS).
 */
export async function startMosquitto(): Promise<RunningBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'camqtt-bench-mosquitto-'));
  const port = await freePort();
  const configFile = join(dir, 'mosquitto.conf');
  await writeFile(
    configFile,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  const process = ServiceProcess.command('broker (mosquitto)', MOSQUITTO_BINARY, ['-c', configFile]);
  const stop = async (): Promise<void> => {
    await process.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, 10_000);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${process.describe()}`);
  }
  const url = `mqtt://127.0.0.1:${port}`;
  return { kind: 'mosquitto', process, url, clientEnv: () => ({ MQTT_URL: url }), benchClient: {}, stop };
}
