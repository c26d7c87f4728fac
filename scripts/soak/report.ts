/** The soak's report: what the JSON holds, and the verdict lines printed at the end. */
import type { FleetCollected } from './fleet.js';
import type { FaultWindow, FpsChange } from './faults.js';
import type { HostileTally } from './hostile-client.js';
import type { SoakOptions } from './options.js';
import type { Sample } from './sampler.js';
import type { LoggedError } from './soak-stack.js';
import {
  errorsOutsideFaults,
  gapsOutsideFaults,
  growthVerdicts,
  recoveryVerdicts,
  type MetricVerdict,
  type RecoveryVerdict,
  type UnexcusedGap,
} from './verdicts.js';

export interface CameraFigures {
  /** Frames the publisher sent over the run (its retained status, first sample to last). */
  published: number | null;
  /** Frames received by normal viewers, all of them together. */
  deliveredToNormalViewers: number;
  lostInFaults: number;
  lostOutsideFaults: number;
}

export interface SoakReport {
  startedAt: string;
  options: SoakOptions;
  machine: { cpus: number; cpuModel: string; loadAverage: number[] };
  caption: string;
  pass: boolean;
  verdictLines: string[];
  crashes: string[];
  /** Error lines outside the fault windows (a verdict), and inside them (what the faults caused). */
  errors: LoggedError[];
  errorsInFaults: LoggedError[];
  growth: MetricVerdict[];
  recovery: RecoveryVerdict[];
  cameras: Record<string, CameraFigures>;
  /** Every gap seen outside the fault windows (the first 500). */
  gapsOutsideFaults: UnexcusedGap[];
  eventLoopP99MaxMs: Record<string, number>;
  cpuCores: Record<string, number>;
  churn: FleetCollected['churn'];
  hostile: HostileTally;
  faults: FaultWindow[];
  fpsChanges: FpsChange[];
  samples: Sample[];
}

export interface SummaryInput {
  options: SoakOptions;
  startedIso: string;
  startedAt: number;
  samples: Sample[];
  windows: FaultWindow[];
  fpsChanges: FpsChange[];
  ledger: FleetCollected;
  crashes: string[];
  errors: LoggedError[];
  hostile: HostileTally;
  machine: SoakReport['machine'];
}

const fmt = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : String(value));

function cameraFigures(input: SummaryInput, unexcused: UnexcusedGap[]): Record<string, CameraFigures> {
  const lostOutside: Record<string, number> = {};
  for (const gap of unexcused) lostOutside[gap.camera] = (lostOutside[gap.camera] ?? 0) + gap.lost;
  const figures: Record<string, CameraFigures> = {};
  const first = input.samples[0]?.cameras ?? {};
  const last = input.samples.at(-1)?.cameras ?? {};
  for (const camera of Object.keys(last)) {
    const from = first[camera]?.framesSent;
    const to = last[camera]?.framesSent;
    const lostAll = input.ledger.gaps.filter((g) => g.camera === camera).reduce((sum, g) => sum + g.lost, 0);
    figures[camera] = {
      published: from !== undefined && to !== undefined ? to - from : null,
      deliveredToNormalViewers: input.ledger.framesByCamera[camera] ?? 0,
      lostInFaults: lostAll - (lostOutside[camera] ?? 0),
      lostOutsideFaults: lostOutside[camera] ?? 0,
    };
  }
  return figures;
}

/** Mean CPU of each process life over the run, in cores (1.0 = one core busy). */
function cpuCores(samples: Sample[]): Record<string, number> {
  const lives = new Map<string, { label: string; first: [number, number]; last: [number, number] }>();
  for (const sample of samples)
    for (const p of sample.processes) {
      if (p.cpuSeconds === undefined) continue;
      const key = `${p.label}#${p.pid}`;
      const life = lives.get(key);
      if (life) life.last = [sample.t, p.cpuSeconds];
      else lives.set(key, { label: p.label, first: [sample.t, p.cpuSeconds], last: [sample.t, p.cpuSeconds] });
    }
  // A restarted process: its longest life stands for the label.
  const longest = new Map<string, { seconds: number; cores: number }>();
  for (const { label, first, last } of lives.values()) {
    const seconds = last[0] - first[0];
    if (seconds < 1 || (longest.get(label)?.seconds ?? 0) >= seconds) continue;
    longest.set(label, { seconds, cores: (last[1] - first[1]) / seconds });
  }
  return Object.fromEntries([...longest].map(([label, { cores }]) => [label, cores]));
}

function eventLoopMax(samples: Sample[]): Record<string, number> {
  const max: Record<string, number> = {};
  for (const sample of samples)
    for (const p of sample.processes) if (p.eventLoopP99Ms !== undefined) max[p.label] = Math.max(max[p.label] ?? 0, p.eventLoopP99Ms);
  return max;
}

export function summarize(input: SummaryInput): SoakReport {
  const { options } = input;
  const totalSeconds = options.minutes * 60;
  const warmupSeconds = totalSeconds * options.warmupFraction;
  // A restarted process reaches its working size within a minute; the run's warm-up (10 min of 60) would leave a 5-minute broker life nothing to fit.
  const restartWarmupSeconds = Math.min(warmupSeconds, 60);
  const growth = growthVerdicts(input.samples, warmupSeconds, restartWarmupSeconds, options.maxGrowthPercent);
  const recovery = recoveryVerdicts(input.ledger, input.windows, input.startedAt);
  const unexcused = gapsOutsideFaults(input.ledger, input.windows, input.startedAt);
  const cameras = cameraFigures(input, unexcused);
  const errors = errorsOutsideFaults(input.errors, input.windows, input.startedAt);
  const errorsInFaults = input.errors.filter((e) => !errors.includes(e));
  const growing = growth.filter((v) => v.deciding && v.verdict === 'growing');
  const notRecovered = recovery.filter((r) => r.late > 0 || r.never > 0);
  const lostTotal = unexcused.reduce((sum, gap) => sum + gap.lost, 0);
  const crashFree = input.crashes.length === 0 && errors.length === 0;
  const pass = crashFree && growing.length === 0 && notRecovered.length === 0 && lostTotal === 0;
  const ok = (good: boolean): string => (good ? 'PASS' : 'FAIL');

  const lines = [
    `Verdicts (growth fitted by least squares from ${fmt(warmupSeconds / 60)} min to the end; a restarted process from ${fmt(restartWarmupSeconds / 60)} min after its start):`,
    `  ${ok(crashFree)} no crash, no error log line outside the faults: ${input.crashes.length} unexpected exits, ${errors.length} error lines (${errorsInFaults.length} more inside fault windows)`,
    ...input.crashes.map((c) => `         ${c}`),
    ...errors.slice(0, 10).map((e) => `         ${e.process}: ${e.text.slice(0, 300)}`),
  ];
  for (const v of growth) {
    const detail = v.fit
      ? `${fmt(v.fit.startValue)} -> ${fmt(v.fit.endValue)} (${v.fit.growthPercent >= 0 ? '+' : ''}${fmt(v.fit.growthPercent)} %, ${fmt(v.fit.slopePerMinute, 3)}/min, ${v.fit.points} points)`
      : 'too few samples after its warm-up';
    const mark = v.verdict === 'too short' ? ' -- ' : v.verdict === 'flat' ? 'PASS' : v.deciding ? 'FAIL' : 'WARN';
    lines.push(`  ${mark} ${v.process} (pid ${v.pid}) ${v.metric}: ${detail}`);
  }
  for (const r of recovery) {
    lines.push(
      `  ${ok(r.late === 0 && r.never === 0)} recovery after ${r.fault}: ${r.recovered}/${r.viewers} viewers fresh within ${fmt(r.boundSeconds)} s bound; median ${r.medianMs === null ? '-' : fmt(r.medianMs / 1000, 2)} s, max ${r.maxMs === null ? '-' : fmt(r.maxMs / 1000, 2)} s; late ${r.late}, never ${r.never}, churned away ${r.churned}`,
    );
  }
  for (const [camera, c] of Object.entries(cameras)) {
    lines.push(
      `  ${ok(c.lostOutsideFaults === 0)} ${camera}: published ${c.published ?? '-'}, delivered to normal viewers ${c.deliveredToNormalViewers}, lost outside faults ${c.lostOutsideFaults} (in fault windows ${c.lostInFaults})`,
    );
  }
  const loop = eventLoopMax(input.samples);
  const cpu = cpuCores(input.samples);
  lines.push(
    `  info CPU, cores: ${Object.entries(cpu)
      .map(([label, cores]) => `${label} ${fmt(cores, 2)}`)
      .join(', ')}`,
    `  info event-loop delay p99, worst sample: ${Object.entries(loop)
      .map(([label, ms]) => `${label} ${fmt(ms)} ms`)
      .join(', ')}`,
    `  info churn: ${input.ledger.churn.retiredClean} closed, ${input.ledger.churn.retiredKilled} killed without close, ${input.ledger.churn.reconnects} reconnects, ${input.ledger.churn.unselectedFrames} frames of unselected cameras; hostile: ${input.hostile.badLogins} bad logins, ${input.hostile.malformed} malformed packets, ${input.hostile.unanswered} left unanswered`,
    `${pass ? 'PASS' : 'FAIL'}: ${pass ? 'every deciding verdict holds' : 'see the FAIL lines above'}`,
  );
  const caption = `${options.minutes} min on ${input.machine.cpus} cores, ${options.cameras} cameras at ${options.fps} fps, ${options.wsViewers} ws + ${options.mjpegClients} MJPEG viewers, ${input.startedIso.slice(0, 16).replace('T', ' ')}`;
  return {
    startedAt: input.startedIso,
    // The results folder is where this report lies; as an absolute path it would only name this machine.
    options: { ...options, resultsDir: '' },
    machine: input.machine,
    caption,
    pass,
    verdictLines: lines,
    crashes: input.crashes,
    errors,
    errorsInFaults,
    growth,
    recovery,
    cameras,
    gapsOutsideFaults: unexcused.slice(0, 500),
    eventLoopP99MaxMs: loop,
    cpuCores: cpu,
    churn: input.ledger.churn,
    hostile: input.hostile,
    faults: input.windows,
    fpsChanges: input.fpsChanges,
    samples: input.samples,
  };
}
