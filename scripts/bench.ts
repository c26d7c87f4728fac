/**
 * `npm run bench`: latency, fps, loss and cost of camqtt, measured on this machine with the real
 * broker, publisher and relay as processes on loopback, driven by WebSocket viewers in this
 * process. Prints a table and writes JSON, markdown and an SVG figure to bench/results/.
 * Asserts nothing (it is not a test) and stops every process it started, also on Ctrl-C.
 * See scripts/bench/ for the parts and `--help` for the options.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { stackAccounts } from '@camqtt/test-support';
import { mosquittoAvailable, startAedes, startMosquitto, type RunningBroker } from './bench/brokers.js';
import { CAMERA_IDS, estimateSeconds, isRealSource, QUALITY, sourceSize, type BenchCase } from './bench/cases.js';
import { cv } from './bench/opencv.js';
import { profileMarkdown, summarizeCpuProfile } from './bench/cpu-profile.js';
import { codecFloor, roundTripFloor, type CodecFloor, type RoundTripFloor } from './bench/floors.js';
import { parseOptions, USAGE, type BenchOptions } from './bench/options.js';
import { resultsDir, timestampForFile, writeReadmeFigures, writeResults } from './bench/output.js';
import { killAllProcessesNow, serviceEntries, stopAllProcesses } from './bench/processes.js';
import { terminalTable } from './bench/report.js';
import { runCase, type RunResult } from './bench/run-case.js';
import { makeProvisionDir } from './bench/stack.js';
import { median } from './bench/stats.js';
import { checkTargets, PYTHON_REFERENCE, summarizeCase, type BenchResults } from './bench/summary.js';

const WIRING =
  'Wiring: every run starts a fresh stack as processes on 127.0.0.1, the same built code as docker compose: the bundled Aedes broker ' +
  '(broker/dist/main.js, provisioned accounts, plain mqtt:// on loopback unless the case says TLS, where publisher and relay use mqtts:// with the provisioned CA as compose does), ' +
  'one publisher per camera (services/publisher/dist/main.js, CAMERA_SOURCE=testsrc, 30 fps, quality 60) and the relay (web/dist/main.js). ' +
  "The Mosquitto case runs /usr/sbin/mosquitto with its own config (anonymous, plain, loopback). Viewers are ws clients in the bench process on the relay's /ws; " +
  'they run in child processes of the bench: each decoding viewer in its own (decoding every frame with OpenCV imdecodeAsync, one at a time, newest next, as the page does), ' +
  'the others (which only read seq and captureTime from the JPEG comment) together in one. ' +
  'A bench MQTT client subscribed to the broker times capture -> MQTT subscriber. CPU is user+system from /proc/<pid>/stat over the measured window (the publisher with its capture helper), memory is VmHWM. ' +
  'Real sources (issue 15): the camera is a process of its own on the same machine (packages/test-support/fixtures: MJPEG over HTTP from OpenCV, quality 80, each frame encoded live; H.264 over RTSP from GStreamer x264 zerolatency), stamping its send time into the pixels; there latency runs from that stamp to the decoded picture.';

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m > 0 ? `${m} min ${s} s` : `${s} s`;
}

function checkPrerequisites(options: BenchOptions, notes: string[]): BenchCase[] {
  const missing = Object.entries(serviceEntries).filter(([, path]) => !existsSync(path));
  if (missing.length > 0)
    throw new Error(`not built: ${missing.map(([name]) => name).join(', ')}; run \`npm run build\` first (npm run bench does)`);
  if (mosquittoAvailable()) return options.cases;
  const note =
    'Mosquitto not installed (/usr/sbin/mosquitto missing): the broker comparison is skipped; install the Debian package `mosquitto` to include it.';
  log(note);
  notes.push(note);
  return options.cases.filter((c) => c.broker !== 'mosquitto');
}

function runLine(result: RunResult): string {
  const c = result;
  return `fps worst ${c.viewerFpsMin.toFixed(1)} median ${c.viewerFpsMedian.toFixed(1)}, lost ${c.viewerLostTotal}, decoded p50 ${c.captureToDecoded.p50?.toFixed(1) ?? '-'} p99 ${c.captureToDecoded.p99?.toFixed(1) ?? '-'} ms, CPU relay ${c.cost.relay.cores?.toFixed(2) ?? '-'} pub ${c.cost.publisher.cores?.toFixed(2) ?? '-'} broker ${c.cost.broker.cores?.toFixed(2) ?? '-'}`;
}

async function measureFloors(
  runs: RunResult[],
  cases: BenchCase[],
  provisionDir: string,
  accounts: string,
  notes: string[],
): Promise<{ codec: CodecFloor[]; roundTrip: RoundTripFloor[] }> {
  const sizes = new Map<string, { frame: Buffer; bytes: number }>();
  for (const benchCase of cases) {
    const size = `${benchCase.width}x${benchCase.height}`;
    const caseRuns = runs.filter((r) => r.caseId === benchCase.id);
    const frame = caseRuns.find((r) => r.samples.frame)?.samples.frame;
    if (!frame || sizes.has(size)) continue;
    sizes.set(size, { frame, bytes: Math.round(median(caseRuns.map((r) => r.bytesPerFrame)) ?? frame.length) });
  }
  addSourceSizes(sizes, cases, notes);
  const codec: CodecFloor[] = [];
  for (const [size, { frame }] of sizes) codec.push(await codecFloor(size, frame));
  const roundTrip: RoundTripFloor[] = [];
  const brokers: Array<() => Promise<RunningBroker>> = [() => startAedes(provisionDir, accounts, false)];
  if (mosquittoAvailable()) brokers.push(() => startMosquitto());
  for (const start of brokers) {
    let broker: RunningBroker | undefined;
    try {
      broker = await start();
      for (const [size, { bytes }] of sizes) roundTrip.push(await roundTripFloor(broker, size, bytes));
    } catch (error) {
      notes.push(`MQTT round-trip floor failed: ${(error as Error).message.split('\n')[0]}`);
    } finally {
      await broker?.stop();
    }
  }
  return { codec, roundTrip };
}

/**
 * A real source's own size needs a codec floor too (its camera's encode, the publisher's decode).
 * Passed-through cases published a frame at that size; else the largest frame there is, resized.
 */
function addSourceSizes(sizes: Map<string, { frame: Buffer; bytes: number }>, cases: BenchCase[], notes: string[]): void {
  for (const benchCase of cases.filter(isRealSource)) {
    const { width, height } = sourceSize(benchCase);
    const key = `${width}x${height}`;
    if (sizes.has(key)) continue;
    const largest = [...sizes.values()].sort((a, b) => b.frame.length - a.frame.length)[0];
    if (!largest) continue;
    const resized = cv.imdecode(largest.frame).resize(height, width);
    const frame = cv.imencode('.jpg', resized, [cv.IMWRITE_JPEG_QUALITY, QUALITY]);
    sizes.set(key, { frame, bytes: frame.length });
    notes.push(`No case published ${key} frames: its codec floor uses a published frame resized to ${key}.`);
  }
}

async function summarizeProfiles(profileDir: string, stamp: string): Promise<void> {
  const files = (await readdir(profileDir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile')).sort();
  if (files.length === 0) {
    log(`no .cpuprofile written in ${profileDir}`);
    return;
  }
  const parts = [`# CPU profiles, ${stamp}`, '', `Profiles: ${profileDir}`, ''];
  for (const file of files) parts.push(profileMarkdown(file.replace('.cpuprofile', ''), await summarizeCpuProfile(join(profileDir, file))));
  const text = parts.join('\n');
  const path = join(resultsDir, `profile-${stamp}.md`);
  await writeFile(path, text);
  log(`\n${text}\nWritten: ${path}`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) {
    log(USAGE);
    return;
  }
  const startedAt = new Date().toISOString();
  const stamp = timestampForFile(startedAt);
  const notes: string[] = [];
  if (options.publisherEntry) {
    if (!existsSync(options.publisherEntry)) throw new Error(`--publisher ${options.publisherEntry}: no such file`);
    notes.push(`Publisher: ${options.publisherEntry} (--publisher), not this checkout's build.`);
  }
  const cases = checkPrerequisites(options, notes);
  const { timing } = options;
  const total = cases.length * timing.runs;
  log(
    `camqtt bench (${options.mode}${options.profile ? ', profiling' : ''}): ${cases.length} case(s) x ${timing.runs} run(s), ${timing.warmupSeconds} s warm-up + ${timing.measureSeconds} s measured each; ETA ${formatDuration(estimateSeconds(cases, timing))}`,
  );
  for (const c of cases) log(`  ${c.id.padEnd(14)} ${c.title}`);

  const provision = await makeProvisionDir();
  removeProvisionDir = provision.remove;
  // Every account any case needs, created once by the broker's first start in the shared folder.
  const accounts = stackAccounts(CAMERA_IDS);
  const profileDir = options.profile ? join(resultsDir, `profiles-${stamp}`) : undefined;
  if (profileDir) await mkdir(profileDir, { recursive: true });
  const runs: RunResult[] = [];
  const failures = new Map<string, string[]>();
  const began = performance.now();
  try {
    let done = 0;
    // Round-robin over the cases, so slow drift in the machine's load spreads over all of them.
    for (let run = 1; run <= timing.runs; run += 1) {
      for (const benchCase of cases) {
        done += 1;
        const started = performance.now();
        try {
          const result = await runCase(
            benchCase,
            run,
            timing,
            {
              provisionDir: provision.dir,
              accounts,
              ...(profileDir ? { profileDir } : {}),
              ...(options.publisherEntry ? { publisherEntry: options.publisherEntry } : {}),
            },
            CAMERA_IDS,
          );
          runs.push(result);
          const elapsed = (performance.now() - began) / 1000;
          const left = (elapsed / done) * (total - done);
          log(
            `[${done}/${total}] ${benchCase.id} run ${run} (${((performance.now() - started) / 1000).toFixed(0)} s, ~${formatDuration(left)} left): ${runLine(result)}`,
          );
        } catch (error) {
          const message = (error as Error).message;
          failures.set(benchCase.id, [...(failures.get(benchCase.id) ?? []), `run ${run}: ${message.split('\n')[0]}`]);
          log(`[${done}/${total}] ${benchCase.id} run ${run} FAILED: ${message}`);
          await stopAllProcesses();
        }
      }
    }
    if (options.profile && profileDir) {
      await summarizeProfiles(profileDir, stamp);
      return;
    }
    log('floors: JPEG encode/decode at each size, bare MQTT round trips ...');
    const floors = await measureFloors(runs, cases, provision.dir, accounts, notes);
    const summaries = cases.map((c) =>
      summarizeCase(
        c,
        runs.filter((r) => r.caseId === c.id),
        failures.get(c.id) ?? [],
      ),
    );
    for (const s of summaries) for (const f of s.failures) notes.push(`${s.case.id} ${f}`);
    const cpu = cpus();
    const results: BenchResults = {
      version: 1,
      startedAt,
      finishedAt: new Date().toISOString(),
      mode: options.mode,
      timing,
      machine: {
        cpus: cpu.length,
        cpuModel: cpu[0]?.model.trim() ?? 'unknown',
        node: process.version,
        kernel: release(),
        loadAverageAtStart: loadavg(),
      },
      wiring: WIRING,
      cases: summaries,
      runs: runs.map(({ samples: _samples, ...rest }) => rest),
      floors,
      targets: checkTargets(summaries),
      reference: PYTHON_REFERENCE,
      notes: [...notes, 'The Python original is not in this repository, so it is not re-run; its figures are quoted from issue 6.'],
    };
    log(`\n${terminalTable(summaries)}\n`);
    log(
      'Floors: ' +
        floors.codec
          .map(
            (f) =>
              `${f.size} encode ${f.encodeMs.toFixed(2)} (async ${f.encodeAsyncMs.toFixed(2)}) ms, decode ${f.decodeMs.toFixed(2)} (async ${f.decodeAsyncMs.toFixed(2)}) ms`,
          )
          .join('; '),
    );
    log(
      'MQTT round trip p50: ' + floors.roundTrip.map((f) => `${f.broker} ${f.size} ${f.roundTripMs.p50?.toFixed(2) ?? '-'} ms`).join('; '),
    );
    log('\nTargets (issue 6; compared, not asserted):');
    for (const t of results.targets)
      log(`  ${t.met === undefined ? '  -' : t.met ? ' ok' : 'MISS'}  ${t.target} [${t.caseId}]: ${t.figure}`);
    const written = await writeResults(results);
    log(`\nWritten: ${written.join(', ')}`);
    if (options.updateReadme) {
      const readme = await writeReadmeFigures(results);
      log(`README figures written: ${readme.join(', ')}`);
    }
    log(`Done in ${formatDuration((performance.now() - began) / 1000)}.`);
  } finally {
    await stopAllProcesses();
    await provision.remove();
  }
}

/** Set once the temp provision folder exists, so Ctrl-C removes it too. */
let removeProvisionDir: (() => Promise<void>) | undefined;
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) {
      killAllProcessesNow();
      process.exit(130);
    }
    interrupted = true;
    log(`\n${signal}: stopping every process the bench started ...`);
    // Bounded: stop() gives each process a few seconds, then SIGKILL.
    void stopAllProcesses()
      .then(() => removeProvisionDir?.())
      .finally(() => process.exit(130));
  });
}
process.on('exit', killAllProcessesNow);

main().catch(async (error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await stopAllProcesses();
  process.exit(1);
});
