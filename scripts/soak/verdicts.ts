/**
 * The soak's verdicts, from the samples, the fault windows and the viewers' ledger:
 * - per process and metric (RSS, heap, external memory, fds, sockets, handles), the growth over
 *   the fitted window from a least-squares line, not two points: slope x window length, as a
 *   share of the fitted start value. The window starts after the warm-up (minute 10 of 60 by
 *   default) and, for a process started again by a fault, a minute (at most) after its start; a life with
 *   fewer than MIN_POINTS samples in it is too short to call.
 * - no crash: no camqtt process exited unless the soak stopped it; no error-level log line;
 * - recovery: every live viewer had a fresh frame within the bound after each fault;
 * - lost frames: none seen by a normal viewer outside the fault windows.
 */
import type { FleetCollected } from './fleet.js';
import type { FaultWindow } from './faults.js';
import type { Sample } from './sampler.js';

export const JUDGED_METRICS = ['rssMiB', 'heapUsedMiB', 'externalMiB', 'fds', 'sockets', 'handles'] as const;
export type JudgedMetric = (typeof JUDGED_METRICS)[number];
/** The "done when" names RSS and fds; the others are reported, and fail only the metric. */
export const DECIDING_METRICS: readonly JudgedMetric[] = ['rssMiB', 'fds'];
const MIN_POINTS = 4;

export interface Fit {
  slopePerMinute: number;
  startValue: number;
  endValue: number;
  growthPercent: number;
  points: number;
}

/** Least-squares line through (x, y); undefined for fewer than two distinct x. */
export function leastSquares(points: ReadonlyArray<readonly [number, number]>): { slope: number; intercept: number } | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const meanX = points.reduce((s, [x]) => s + x, 0) / n;
  const meanY = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of points) {
    sxx += (x - meanX) ** 2;
    sxy += (x - meanX) * (y - meanY);
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  return { slope, intercept: meanY - slope * meanX };
}

export function fitGrowth(points: ReadonlyArray<readonly [number, number]>): Fit | undefined {
  const line = leastSquares(points);
  if (!line || points.length < MIN_POINTS) return undefined;
  const from = points[0]![0];
  const to = points[points.length - 1]![0];
  const startValue = line.intercept + line.slope * from;
  const endValue = line.intercept + line.slope * to;
  const growthPercent = startValue > 0 ? ((endValue - startValue) / startValue) * 100 : endValue > 0 ? Infinity : 0;
  return { slopePerMinute: line.slope * 60, startValue, endValue, growthPercent, points: points.length };
}

export interface MetricVerdict {
  process: string;
  pid: number;
  metric: JudgedMetric;
  deciding: boolean;
  fit?: Fit;
  verdict: 'flat' | 'growing' | 'too short';
}

/** One verdict per process life (label + pid) and metric. */
export function growthVerdicts(
  samples: Sample[],
  warmupEnd: number,
  restartWarmupSeconds: number,
  maxGrowthPercent: number,
): MetricVerdict[] {
  const lives = new Map<string, { label: string; pid: number; firstSeen: number; points: Sample['processes'] }>();
  const times = new Map<object, number>();
  for (const sample of samples) {
    for (const p of sample.processes) {
      if (p.label === 'soak' || p.label === 'viewer fleet') continue; // the soak's own, not camqtt
      const key = `${p.label}#${p.pid}`;
      let life = lives.get(key);
      if (!life) lives.set(key, (life = { label: p.label, pid: p.pid, firstSeen: sample.t, points: [] }));
      life.points.push(p);
      times.set(p, sample.t);
    }
  }
  const verdicts: MetricVerdict[] = [];
  for (const life of lives.values()) {
    // A process there from the first sample started with the soak; a later one was restarted by a fault.
    const restarted = life.firstSeen > (samples[0]?.t ?? 0);
    const from = restarted ? Math.max(warmupEnd, life.firstSeen + restartWarmupSeconds) : warmupEnd;
    for (const metric of JUDGED_METRICS) {
      const points = life.points
        .map((p) => [times.get(p)!, p[metric]] as const)
        .filter((pair): pair is readonly [number, number] => pair[0] >= from && pair[1] !== undefined);
      if (life.points.every((p) => p[metric] === undefined)) continue;
      const fit = fitGrowth(points);
      verdicts.push({
        process: life.label,
        pid: life.pid,
        metric,
        deciding: DECIDING_METRICS.includes(metric),
        fit,
        verdict: !fit ? 'too short' : fit.growthPercent > maxGrowthPercent ? 'growing' : 'flat',
      });
    }
  }
  return verdicts;
}

export interface RecoveryVerdict {
  fault: string;
  boundSeconds: number;
  viewers: number;
  recovered: number;
  maxMs: number | null;
  medianMs: number | null;
  late: number;
  never: number;
  churned: number;
}

export function recoveryVerdicts(ledger: FleetCollected, windows: FaultWindow[], startedAt: number): RecoveryVerdict[] {
  return windows.map((window) => {
    const at = startedAt + window.end * 1000;
    const mine = ledger.recoveries.filter((r) => r.fault === window.kind && Math.abs(r.at - at) < 1);
    const counted = mine.filter((r) => !r.churned);
    const times = counted
      .map((r) => r.ms)
      .filter((ms): ms is number => ms !== null)
      .sort((a, b) => a - b);
    const boundSeconds = window.excusedUntil - window.end;
    return {
      fault: window.kind,
      boundSeconds,
      viewers: counted.length,
      recovered: times.length,
      maxMs: times.at(-1) ?? null,
      medianMs: times.length > 0 ? times[Math.floor(times.length / 2)]! : null,
      late: times.filter((ms) => ms > boundSeconds * 1000).length,
      never: counted.length - times.length,
      churned: mine.length - counted.length,
    };
  });
}

/** A gap a normal viewer saw outside every fault window of its camera; `t` in seconds since the start. */
export interface UnexcusedGap {
  t: number;
  camera: string;
  transport: string;
  lost: number;
}

export function gapsOutsideFaults(ledger: FleetCollected, windows: FaultWindow[], startedAt: number): UnexcusedGap[] {
  return ledger.gaps
    .map((gap) => ({ t: (gap.at - startedAt) / 1000, camera: gap.camera, transport: gap.transport, lost: gap.lost }))
    .filter((gap) => !windows.some((w) => w.cameras.includes(gap.camera) && gap.t >= w.start && gap.t <= w.excusedUntil));
}

/** Errors logged inside a fault window are what the fault causes (a vanished source is an error); the rest are not. */
export function errorsOutsideFaults<T extends { time?: number }>(errors: T[], windows: FaultWindow[], startedAt: number): T[] {
  return errors.filter((error) => {
    if (error.time === undefined) return true;
    const t = (error.time - startedAt) / 1000;
    return !windows.some((w) => t >= w.start && t <= w.excusedUntil);
  });
}
