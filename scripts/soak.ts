/**
 * `npm run soak -- --minutes N`: the whole camqtt stack (broker, publishers, relay as processes on
 * loopback) for N minutes under viewer churn and scheduled faults, sampled every 10 s; writes
 * JSON and an SVG to soak/results/ and ends with a verdict per metric. Exit code 0 when every
 * deciding verdict holds (no crash, RSS and fds flat, viewers recovered, nothing lost outside
 * the faults), 1 otherwise. See scripts/soak/ for the parts and `--help` for the options.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { nowMs } from './bench/clock.js';
import { killAllProcessesNow, serviceEntries, sleep, stopAllProcesses } from './bench/processes.js';
import { timestampForFile } from './bench/output.js';
import { AdminClient } from './soak/admin-client.js';
import { FaultRunner, faultSchedule } from './soak/faults.js';
import { FleetClient } from './soak/fleet-client.js';
import { HostileClient } from './soak/hostile-client.js';
import { parseSoakOptions, USAGE, type SoakOptions } from './soak/options.js';
import { summarize, type SoakReport } from './soak/report.js';
import { takeSample, type Sample } from './soak/sampler.js';
import { soakFigureSvg } from './soak/soak-plot.js';
import { SoakStack } from './soak/soak-stack.js';

const HOSTILE_EVERY_MS = 2000;
const STARTUP_TIMEOUT_MS = 60_000;

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function waitForCameras(admin: AdminClient, cameras: string[]): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!cameras.every((c) => admin.statuses.get(c)?.online === true)) {
    if (Date.now() > deadline) throw new Error(`cameras not online after ${STARTUP_TIMEOUT_MS / 1000} s: ${cameras.join(', ')}`);
    await sleep(250);
  }
}

function sampleLine(sample: Sample): string {
  const rss = sample.processes
    .filter((p) => p.label !== 'soak')
    .map((p) => `${p.label} ${p.rssMiB.toFixed(0)}M/${p.fds}fd`)
    .join(', ');
  const fps = Object.entries(sample.viewers.fpsPerViewer)
    .map(([camera, value]) => `${camera} ${value.toFixed(1)}`)
    .join(' ');
  return `${sample.t.toFixed(0).padStart(5)} s  fps/viewer: ${fps}  |  ${rss}`;
}

async function run(options: SoakOptions): Promise<SoakReport> {
  const missing = Object.entries(serviceEntries).filter(([, path]) => !existsSync(path));
  if (missing.length > 0)
    throw new Error(`not built: ${missing.map(([name]) => name).join(', ')}; run \`npm run build\` first (npm run soak does)`);
  const startedIso = new Date().toISOString();
  const stack = await SoakStack.start({ cameras: options.cameras, fps: options.fps, probeIntervalMs: options.sampleSeconds * 1000 });
  const admin = new AdminClient(stack);
  const fleet = new FleetClient();
  const hostile = new HostileClient(() => stack.ports.mqtt);
  try {
    const cameraIds = stack.cameras.map((c) => c.id);
    await waitForCameras(admin, cameraIds);
    await fleet.start({
      type: 'start',
      baseUrl: stack.baseUrl,
      cameras: cameraIds,
      ws: options.wsViewers,
      mjpeg: options.mjpegClients,
      churnPerSecond: 1,
    });
    hostile.start(HOSTILE_EVERY_MS);
    const startedAt = nowMs();
    const totalSeconds = options.minutes * 60;
    const elapsed = (): number => (nowMs() - startedAt) / 1000;
    log(
      `soak: ${options.minutes} min, ${options.cameras} cameras at ${options.fps} fps, ${options.wsViewers} ws + ${options.mjpegClients} MJPEG viewers`,
    );
    const faults = new FaultRunner(stack, fleet, admin, options, startedAt);
    let stopped = false;
    const faultsDone = faults.run(faultSchedule(options), () => stopped);
    const samples: Sample[] = [];
    for (let next = options.sampleSeconds; next <= totalSeconds + 1e-6; next += options.sampleSeconds) {
      await sleep(Math.max(0, (next - elapsed()) * 1000));
      const sample = await takeSample(elapsed(), stack, fleet, admin, options.sampleSeconds * 2000);
      samples.push(sample);
      log(sampleLine(sample));
      for (const line of faults.log.splice(0)) log(`        fault ${line}`);
    }
    stopped = true;
    await faultsDone;
    hostile.stop();
    const ledger = await fleet.collect();
    return summarize({
      options,
      startedIso,
      startedAt,
      samples,
      windows: faults.windows,
      fpsChanges: faults.fpsChanges,
      ledger,
      crashes: [...stack.crashes],
      errors: [...stack.errors],
      hostile: hostile.tally,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', loadAverage: loadavg() },
    });
  } finally {
    hostile.stop();
    await fleet.stop();
    await admin.stop();
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const options = parseSoakOptions(process.argv.slice(2));
  if (options.help) {
    log(USAGE);
    return;
  }
  process.on('exit', killAllProcessesNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`\n${signal}: stopping every process`);
      void stopAllProcesses().finally(() => process.exit(130));
    });
  }
  const report = await run(options);
  await mkdir(options.resultsDir, { recursive: true });
  const stamp = timestampForFile(report.startedAt);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const svg = soakFigureSvg(report);
  for (const [name, content] of [
    [`soak-${stamp}.json`, json],
    [`soak-${stamp}.svg`, svg],
    ['latest.json', json],
    ['latest.svg', svg],
  ] as const)
    await writeFile(join(options.resultsDir, name), content);
  log('');
  for (const line of report.verdictLines) log(line);
  log(`\nresults: ${join(options.resultsDir, `soak-${stamp}.json`)} and .svg`);
  process.exitCode = report.pass ? 0 : 1;
}

main().catch(async (error: unknown) => {
  process.stderr.write(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await stopAllProcesses();
  process.exit(2);
});
