/**
 * One run's camqtt stack as real processes on loopback: a broker, one publisher per camera on the
 * built-in test pattern (or an emulated V4L2 camera), and the relay, with the same code and settings names as docker compose.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FPS, QUALITY, type BenchCase } from './cases.js';
import { startAedes, startMosquitto, type RunningBroker } from './brokers.js';
import { startService, type ServiceProcess } from './processes.js';
import { startRealSource, type RealSource } from './real-source.js';
import { startV4l2Source } from './v4l2-source.js';

export const TOPIC_PREFIX = 'camqtt';
/** The publisher logs its pipeline timings (grab -> offered) at debug level every this many s. */
export const PUBLISHER_STATS_INTERVAL_S = 2;

export interface StackOptions {
  /** Shared provision folder of the bundled broker (accounts created once for all runs). */
  provisionDir: string;
  accounts: string;
  /** Folder for --cpu-prof profiles of the node services; unset: no profiling. */
  profileDir?: string;
  /** Another build's publisher entry (--publisher), to measure before and after a change in one bench. */
  publisherEntry?: string;
}

export interface BenchStack {
  broker: RunningBroker;
  publishers: ServiceProcess[];
  relay: ServiceProcess;
  webPort: number;
  stop(): Promise<void>;
}

/** Node flags for a profiled service (on the command line: Node 20 refuses --cpu-prof in NODE_OPTIONS). */
function profileArgs(options: StackOptions, name: string): string[] {
  if (!options.profileDir) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${name}.cpuprofile`];
}

async function startBroker(benchCase: BenchCase, options: StackOptions): Promise<RunningBroker> {
  if (benchCase.broker === 'mosquitto') return await startMosquitto();
  return await startAedes(options.provisionDir, options.accounts, benchCase.broker === 'aedes-tls', profileArgs(options, 'broker'));
}

function protocolEnv(benchCase: BenchCase): Record<string, string> {
  return benchCase.protocol ? { MQTT_PROTOCOL_VERSION: benchCase.protocol } : {};
}

export async function startBenchStack(benchCase: BenchCase, cameraIds: readonly string[], options: StackOptions): Promise<BenchStack> {
  const broker = await startBroker(benchCase, options);
  const services: ServiceProcess[] = [];
  const v4l2 = benchCase.source === 'v4l2' ? cameraIds.map(() => startV4l2Source(benchCase)) : [];
  const real: RealSource[] = [];
  const stop = async (): Promise<void> => {
    // Relay and publishers first, so the broker sees clean disconnects.
    await Promise.all(services.map((p) => p.stop()));
    await broker.stop();
    for (const source of v4l2) source.remove();
    await Promise.all(real.map((source) => source.stop()));
  };
  try {
    if (benchCase.source !== undefined && benchCase.source !== 'v4l2')
      for (const _camera of cameraIds) real.push(await startRealSource(benchCase));
    const publishers = cameraIds.map((camera, i) =>
      startService(
        options.publisherEntry ?? 'publisher',
        `publisher ${camera}`,
        {
          ...broker.clientEnv(camera),
          LOG_LEVEL: 'debug',
          TOPIC_PREFIX,
          CAMERA_ID: camera,
          CAMERA_SOURCE: 'testsrc',
          VIDEO_WIDTH: String(benchCase.width),
          VIDEO_HEIGHT: String(benchCase.height),
          VIDEO_FPS: String(FPS),
          JPEG_QUALITY: String(QUALITY),
          STATUS_INTERVAL_S: String(PUBLISHER_STATS_INTERVAL_S),
          ...protocolEnv(benchCase),
          ...v4l2[i]?.env,
          ...real[i]?.env,
        },
        profileArgs(options, `publisher-${camera}`),
      ),
    );
    services.push(...publishers);
    const relay = startService(
      'web',
      'relay',
      {
        ...broker.clientEnv('relay'),
        LOG_LEVEL: 'info',
        TOPIC_PREFIX,
        WEB_HOST: '127.0.0.1',
        WEB_PORT: '0',
        ...protocolEnv(benchCase),
      },
      profileArgs(options, 'relay'),
    );
    services.push(relay);
    const webPort = await relay.port('http');
    return { broker, publishers, relay, webPort, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A temp folder for the bundled broker's provisioning (CA, accounts), removed at the end. */
export async function makeProvisionDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'camqtt-bench-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
