/**
 * The whole camqtt stack as real processes on loopback, wired as docker compose wires it: the
 * bundled broker provisions a CA and account passwords, and the publishers and relay connect over
 * MQTT/TLS with their own accounts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess } from './service-process.js';
import { loopbackBrokerEnv, stackAccounts } from './loopback-broker.js';

export interface CameraSpec {
  id: string;
  source: string;
  env?: Record<string, string>;
}

export interface Stack {
  provisionDir: string;
  broker: ServiceProcess;
  publishers: ServiceProcess[];
  web: ServiceProcess;
  ports: { mqtt: number; mqtts: number; brokerHttp: number; web: number };
  caFile: string;
  password(user: string): Promise<string>;
  stop(): Promise<void>;
}

export function startBroker(provisionDir: string, accounts: string, env: Record<string, string> = {}): ServiceProcess {
  return ServiceProcess.start('broker', { ...loopbackBrokerEnv(provisionDir, accounts), ...env });
}

/** `extraAccounts`: more user:role accounts to provision, for processes a test starts itself; `webEnv`: more settings for the relay. */
export async function startStack(
  cameras: CameraSpec[],
  options: { brokerEnv?: Record<string, string>; extraAccounts?: string[]; webEnv?: Record<string, string> } = {},
): Promise<Stack> {
  const provisionDir = await mkdtemp(join(tmpdir(), 'camqtt-stack-'));
  const accounts = [stackAccounts(cameras.map((c) => c.id)), ...(options.extraAccounts ?? [])].join(',');
  const broker = startBroker(provisionDir, accounts, options.brokerEnv);
  const started: ServiceProcess[] = [broker];
  try {
    const [mqtt, mqtts, brokerHttp] = await Promise.all([broker.port('mqtt'), broker.port('mqtts'), broker.port('http')]);
    const caFile = join(provisionDir, 'tls', 'ca.crt');
    const clientEnv = (user: string): Record<string, string> => ({
      MQTT_URL: `mqtts://localhost:${mqtts}`,
      MQTT_CA_FILE: caFile,
      MQTT_USERNAME: user,
      MQTT_PASSWORD_FILE: join(provisionDir, 'passwords', user),
    });
    const publishers = cameras.map((camera) =>
      ServiceProcess.start('publisher', { ...clientEnv(camera.id), CAMERA_ID: camera.id, CAMERA_SOURCE: camera.source, ...camera.env }),
    );
    started.push(...publishers);
    const web = ServiceProcess.start('web', { ...clientEnv('relay'), WEB_HOST: '127.0.0.1', WEB_PORT: '0', ...options.webEnv });
    started.push(web);
    const webPort = await web.port('http');
    return {
      provisionDir,
      broker,
      publishers,
      web,
      caFile,
      ports: { mqtt, mqtts, brokerHttp, web: webPort },
      password: async (user) => (await readFile(join(provisionDir, 'passwords', user), 'utf8')).trim(),
      stop: async () => {
        await Promise.all(started.reverse().map((p) => p.stop()));
        await rm(provisionDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(started.map((p) => p.stop()));
    throw error;
  }
}
