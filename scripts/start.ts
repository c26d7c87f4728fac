/**
 * `npm start`: the whole stack without Docker. Starts the bundled broker (provisioning certificates
 * and account passwords into .camqtt/ on first start), the publisher, the viewer relay and the
 * recorder (into RECORD_DIR, default ./recordings), each as its own process with the same code and
 * settings as in docker compose, and prints their logs.
 *
 * The camera is /dev/video0 when it exists, else the built-in test pattern (CAMERA_SOURCE overrides).
 * With MQTT_URL set (environment or .env), no broker is started: the publisher and relay use that
 * one, with the MQTT_* settings as given.
 *
 * Each service says it is up over an IPC channel (whatever LOG_LEVEL hides), and exits when this
 * process goes away. This process stops the stack on Ctrl-C, SIGTERM or SIGHUP, and when the npm
 * that started it is gone (npm passes SIGTERM to its shell, which dies without passing it on).
 */
import { type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { config as loadDotenv } from 'dotenv';
import { fileURLToPath } from 'node:url';
import { spawnWithDeathSignal } from '@camqtt/service-kit';
import { redactCredentials } from '@camqtt/wire';

const root = fileURLToPath(new URL('../', import.meta.url));

loadDotenv({ path: `${root}.env`, quiet: true });

const provisionDir = `${root}.camqtt`;
const cameraId = process.env.CAMERA_ID || 'cam1';
const cameraSource = process.env.CAMERA_SOURCE || (existsSync('/dev/video0') ? '/dev/video0' : 'testsrc');
const externalBroker = Boolean(process.env.MQTT_URL);
/** Longest wait for a service to say it is up: the broker's first start makes an RSA CA and key. */
const READY_TIMEOUT_MS = 60_000;
const children: ChildProcess[] = [];
let stopping = false;

const colours: Record<string, string> = { broker: '35', publisher: '36', web: '32', recorder: '33' };
const levels: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };

/** The services log one JSON object per line (for machines); a person at a terminal gets this. */
function readable(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, time, msg, pid: _pid, hostname: _hostname, name: _name, ...fields } = entry;
  const clock = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const details = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${clock} ${levels[Number(level)] ?? String(level)} ${typeof msg === 'string' ? msg : JSON.stringify(msg ?? '')}${details ? `  ${details}` : ''}`;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

interface ReadyMessage {
  type: 'ready';
  ports?: Record<string, number>;
}

/** Starts a service; resolves with its ready message, rejects if it exits or stays silent first. */
function run(name: string, entry: string, env: Record<string, string>): Promise<ReadyMessage> {
  const child = spawnWithDeathSignal(process.execPath, [`${root}${entry}`], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // A process group of its own: Ctrl-C reaches this process only, which stops the services in order.
    detached: true,
  });
  children.push(child);
  // Colour only on a terminal: a log file gets plain text.
  const prefix = process.stdout.isTTY ? `\x1b[${colours[name] ?? '0'}m${name.padEnd(9)}\x1b[0m| ` : `${name.padEnd(9)}| `;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => say(prefix + readable(line)));
  }
  return new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not say it was up within ${READY_TIMEOUT_MS / 1000} s (its log is above)`)),
      READY_TIMEOUT_MS,
    );
    child.on('message', (message: ReadyMessage) => {
      if ((message as ReadyMessage | undefined)?.type !== 'ready') return;
      clearTimeout(timer);
      resolve(message);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? `code ${code}`})`));
      if (stopping) return;
      say(`${prefix}exited (${signal ?? code}); stopping the stack`);
      void stopAll(1);
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Publisher, relay and recorder first, then the broker: clients that see their broker vanish log errors. */
async function stopAll(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  const [first, ...rest] = children;
  const broker = externalBroker ? undefined : first;
  await Promise.all((broker ? rest : children).map(stop));
  if (broker) await stop(broker);
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stopAll(0));
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) void stopAll(0);
}, 250).unref();

async function main(): Promise<void> {
  let mqtt: Record<string, string> = {};
  let relayMqtt: Record<string, string> = {};
  let recorderMqtt: Record<string, string> = {};
  if (!externalBroker) {
    const broker = await run('broker', 'broker/dist/main.js', { BROKER_PROVISION_DIR: provisionDir });
    // MQTT_PASSWORD emptied: a cloud broker's password left in .env would win over the file.
    const common = { MQTT_URL: `mqtts://localhost:${broker.ports?.mqtts}`, MQTT_CA_FILE: `${provisionDir}/tls/ca.crt`, MQTT_PASSWORD: '' };
    mqtt = { ...common, MQTT_USERNAME: cameraId, MQTT_PASSWORD_FILE: `${provisionDir}/passwords/${cameraId}` };
    relayMqtt = { ...common, MQTT_USERNAME: 'relay', MQTT_PASSWORD_FILE: `${provisionDir}/passwords/relay` };
    recorderMqtt = { ...common, MQTT_USERNAME: 'recorder', MQTT_PASSWORD_FILE: `${provisionDir}/passwords/recorder` };
  }
  // The recorder writes here and the relay serves it to the page.
  const recordings = { RECORD_DIR: process.env.RECORD_DIR || `${root}recordings` };
  const [, web] = await Promise.all([
    run('publisher', 'services/publisher/dist/main.js', { ...mqtt, CAMERA_ID: cameraId, CAMERA_SOURCE: cameraSource }),
    run('web', 'web/dist/main.js', { ...relayMqtt, ...recordings }),
    run('recorder', 'services/recorder/dist/main.js', { ...recorderMqtt, ...recordings }),
  ]);
  say(
    `\ncamqtt is up: open http://localhost:${web.ports?.http} (camera ${cameraId}: ${redactCredentials(cameraSource)}). Ctrl-C stops it.\n`,
  );
}

main().catch((error: unknown) => {
  if (stopping) return;
  process.stderr.write(`start: ${error instanceof Error ? error.message : String(error)}\n`);
  void stopAll(1);
});
