/**
 * `npm start`: the whole stack without Docker. Starts the bundled broker (provisioning certificates
 * and account passwords into .camqtt/ on first start), the publisher and the viewer relay, each as
 * its own process with the same code and settings as in docker compose, and prints their logs.
 *
 * The camera is /dev/video0 when it exists, else the built-in test pattern (CAMERA_SOURCE overrides).
 * With MQTT_URL set (environment or .env), no broker is started: the publisher and relay use that
 * one, with the MQTT_* settings as given.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { config as loadDotenv } from 'dotenv';

const root = fileURLToPath(new URL('..', import.meta.url));
loadDotenv({ path: `${root}.env`, quiet: true });

const provisionDir = `${root}.camqtt`;
const cameraId = process.env.CAMERA_ID || 'cam1';
const cameraSource = process.env.CAMERA_SOURCE || (existsSync('/dev/video0') ? '/dev/video0' : 'testsrc');
const externalBroker = Boolean(process.env.MQTT_URL);
const children: ChildProcess[] = [];
let stopping = false;

const colours: Record<string, string> = { broker: '35', publisher: '36', web: '32' };
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
  return `${clock} ${levels[Number(level)] ?? String(level)} ${String(msg ?? '')}${details ? `  ${details}` : ''}`;
}

function run(name: string, entry: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [`${root}${entry}`], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = `\x1b[${colours[name] ?? '0'}m${name.padEnd(9)}\x1b[0m| `;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => process.stdout.write(prefix + readable(line) + '\n'));
  }
  child.on('exit', (code, signal) => {
    if (stopping) return;
    process.stdout.write(`${prefix}exited (${signal ?? code}); stopping the stack\n`);
    void stopAll(1);
  });
  children.push(child);
  return child;
}

async function waitForLine(child: ChildProcess, pattern: RegExp): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (pattern.test(line)) {
        lines.close();
        resolve();
      }
    });
    child.once('exit', () => reject(new Error('exited before it was ready')));
  });
}

async function stopAll(code: number): Promise<void> {
  stopping = true;
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }),
  );
  process.exit(code);
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

async function main(): Promise<void> {
  let mqtt: Record<string, string> = {};
  let relayMqtt: Record<string, string> = {};
  if (!externalBroker) {
    const broker = run('broker', 'broker/dist/main.js', {
      BROKER_PROVISION_DIR: provisionDir,
      BROKER_PROVISION_ACCOUNTS: process.env.BROKER_PROVISION_ACCOUNTS || `${cameraId}:camera,relay:relay`,
    });
    await waitForLine(broker, /"listener":"mqtts"/);
    const port = process.env.BROKER_MQTTS_PORT || '8883';
    const common = { MQTT_URL: `mqtts://localhost:${port}`, MQTT_CA_FILE: `${provisionDir}/tls/ca.crt` };
    mqtt = { ...common, MQTT_USERNAME: cameraId, MQTT_PASSWORD_FILE: `${provisionDir}/passwords/${cameraId}` };
    relayMqtt = { ...common, MQTT_USERNAME: 'relay', MQTT_PASSWORD_FILE: `${provisionDir}/passwords/relay` };
  }
  run('publisher', 'services/publisher/dist/main.js', { ...mqtt, CAMERA_ID: cameraId, CAMERA_SOURCE: cameraSource });
  const web = run('web', 'web/dist/main.js', relayMqtt);
  await waitForLine(web, /"msg":"listening"/);
  const port = process.env.WEB_PORT || '8080';
  process.stdout.write(`\ncamqtt is up: open http://localhost:${port} (camera ${cameraId}: ${cameraSource}). Ctrl-C stops it.\n\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`start: ${error instanceof Error ? error.message : String(error)}\n`);
  void stopAll(1);
});
