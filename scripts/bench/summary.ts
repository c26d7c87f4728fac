/**
 * From the runs of each case to what the report shows: the median and min-max over runs of each
 * figure, the pooled latency distribution, and the targets of issue 6 next to the figures.
 */
import { ALL_CASES, type BenchCase } from './cases.js';
import type { CodecFloor, RoundTripFloor } from './floors.js';
import type { RunResult } from './run-case.js';
import { quantileCurve, spread, type Spread } from './stats.js';

export interface CaseSummary {
  case: BenchCase;
  runs: number;
  failures: string[];
  /** Capture -> decoded at a decoding viewer: per-run percentiles, median and spread over runs. */
  decoded: { p50?: Spread; p95?: Spread; p99?: Spread; max?: Spread };
  /** Capture -> message at any live viewer (no decode). */
  atClient: { p50?: Spread; p99?: Spread };
  /** Where the time goes (per-run medians of per-frame figures, except the publisher's own mean). */
  split: {
    publisherGrabToOfferMs?: Spread;
    publisherEncodeMs?: Spread;
    captureToBrokerP50?: Spread;
    /** capture->MQTT subscriber minus the publisher's grab->offered: MQTT send, broker, MQTT receive. */
    brokerHopP50?: Spread;
    captureToRelayP50?: Spread;
    relayToClientP50?: Spread;
    relayToClientP99?: Spread;
    decodeP50?: Spread;
    /** Stamped cameras: camera send time -> the publisher's read (camera encode, network, capture). */
    cameraToGrabP50?: Spread;
  };
  viewerFpsMin?: Spread;
  viewerFpsMedian?: Spread;
  viewerLostTotal?: Spread;
  viewerLostMax?: Spread;
  decodeSkipped?: Spread;
  publishedFps?: Spread;
  publishedLost?: Spread;
  bytesPerFrame?: Spread;
  cameraMbitPerSecond?: Spread;
  relayEgressMbitPerSecond?: Spread;
  cpuCores: { broker?: Spread; publisher?: Spread; relay?: Spread; viewers?: Spread };
  peakRssMiB: { broker?: Spread; publisher?: Spread; relay?: Spread; viewers?: Spread };
  relayDisconnects: number[][];
  /** The viewer processes' event-loop delay p99 (ms): large means the client side inflated latencies. */
  viewerLoopDelayP99Ms?: Spread;
  loadAverage?: Spread;
  /** Percentiles 0..100 of the samples pooled over all runs (for the plot). */
  curves: { captureToDecoded: number[]; captureToClient: number[] };
}

function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function summarizeCase(benchCase: BenchCase, runs: RunResult[], failures: string[]): CaseSummary {
  const over = (pick: (r: RunResult) => number | undefined): Spread | undefined => spread(runs.map(pick));
  const roles = ['broker', 'publisher', 'relay', 'viewers'] as const;
  return {
    case: benchCase,
    runs: runs.length,
    failures,
    decoded: defined({
      p50: over((r) => r.captureToDecoded.p50),
      p95: over((r) => r.captureToDecoded.p95),
      p99: over((r) => r.captureToDecoded.p99),
      max: over((r) => r.captureToDecoded.max),
    }),
    atClient: defined({ p50: over((r) => r.captureToClient.p50), p99: over((r) => r.captureToClient.p99) }),
    split: defined({
      publisherGrabToOfferMs: over((r) => r.publisherGrabToOfferMs),
      publisherEncodeMs: over((r) => r.publisherEncodeMs),
      captureToBrokerP50: over((r) => r.captureToBroker.p50),
      brokerHopP50: over((r) =>
        r.captureToBroker.p50 !== undefined && r.publisherGrabToOfferMs !== undefined
          ? r.captureToBroker.p50 - r.publisherGrabToOfferMs
          : undefined,
      ),
      captureToRelayP50: over((r) => r.captureToRelay.p50),
      relayToClientP50: over((r) => r.relayToClient.p50),
      relayToClientP99: over((r) => r.relayToClient.p99),
      decodeP50: over((r) => r.decodeMs.p50),
      cameraToGrabP50: over((r) => r.cameraToGrab.p50),
    }),
    viewerFpsMin: over((r) => r.viewerFpsMin),
    viewerFpsMedian: over((r) => r.viewerFpsMedian),
    viewerLostTotal: over((r) => r.viewerLostTotal),
    viewerLostMax: over((r) => r.viewerLostMax),
    decodeSkipped: over((r) => r.decodeSkipped),
    publishedFps: over((r) => r.publishedFps),
    publishedLost: over((r) => r.publishedLost),
    bytesPerFrame: over((r) => r.bytesPerFrame),
    cameraMbitPerSecond: over((r) => r.cameraMbitPerSecond),
    relayEgressMbitPerSecond: over((r) => r.relayEgressMbitPerSecond),
    cpuCores: defined(Object.fromEntries(roles.map((role) => [role, over((r) => r.cost[role].cores)]))),
    peakRssMiB: defined(Object.fromEntries(roles.map((role) => [role, over((r) => r.cost[role].peakRssMiB)]))),
    relayDisconnects: runs.map((r) => r.relayDisconnectsAtSeconds),
    viewerLoopDelayP99Ms: over((r) => r.viewerLoopDelayP99Ms),
    loadAverage: over((r) => r.loadAverage),
    curves: {
      captureToDecoded: quantileCurve(runs.flatMap((r) => r.samples.captureToDecoded)),
      captureToClient: quantileCurve(runs.flatMap((r) => r.samples.captureToClient)),
    },
  };
}

export interface TargetCheck {
  target: string;
  caseId: string;
  figure: string;
  met: boolean | undefined;
}

/** The targets, each next to the figure that answers it; nothing is asserted. */
export function checkTargets(cases: CaseSummary[]): TargetCheck[] {
  const byId = new Map(cases.map((c) => [c.case.id, c]));
  const checks: TargetCheck[] = [];
  const add = (target: string, caseId: string, value: number | undefined, unit: string, met: (v: number) => boolean): void => {
    checks.push({
      target,
      caseId,
      figure: value === undefined ? 'not measured' : `${value.toFixed(unit === ' lost' ? 0 : 2)}${unit}`,
      met: value === undefined ? undefined : met(value),
    });
  };
  const v50 = byId.get('640x480-v50');
  add('50 viewers: every viewer 30 fps (worst viewer >= 29.5)', '640x480-v50', v50?.viewerFpsMin?.median, ' fps', (v) => v >= 29.5);
  add('50 viewers: 0 frames lost', '640x480-v50', v50?.viewerLostTotal?.median, ' lost', (v) => v === 0);
  for (const id of ['640x480-v1', '640x480-v50']) {
    const c = byId.get(id);
    add('640x480 grab->decoded p50 <= 8 ms', id, c?.decoded.p50?.median, ' ms', (v) => v <= 8);
    add('640x480 grab->decoded p99 <= 20 ms', id, c?.decoded.p99?.median, ' ms', (v) => v <= 20);
  }
  const hd = byId.get('1280x720-v10');
  add('1280x720 grab->decoded p50 <= 15 ms', '1280x720-v10', hd?.decoded.p50?.median, ' ms', (v) => v <= 15);
  add('1280x720 still 30 fps (worst viewer >= 29.5)', '1280x720-v10', hd?.viewerFpsMin?.median, ' fps', (v) => v >= 29.5);
  add('1280x720 0 frames lost', '1280x720-v10', hd?.viewerLostTotal?.median, ' lost', (v) => v === 0);
  add('relay <= 0.5 core for 50 viewers', '640x480-v50', v50?.cpuCores.relay?.median, ' cores', (v) => v <= 0.5);
  add('publisher <= 0.25 core', '640x480-v50', v50?.cpuCores.publisher?.median, ' cores', (v) => v <= 0.25);
  add('broker <= 0.25 core', '640x480-v50', v50?.cpuCores.broker?.median, ' cores', (v) => v <= 0.25);
  const alone = byId.get('640x480-v1')?.viewerFpsMedian?.median;
  const withFrozen = byId.get('frozen')?.viewerFpsMedian?.median;
  const change = alone !== undefined && withFrozen !== undefined && alone > 0 ? (Math.abs(withFrozen - alone) / alone) * 100 : undefined;
  add("frozen viewer moves a live viewer's fps by < 2 % (vs 640x480-v1)", 'frozen', change, ' %', (v) => v < 2);
  return checks;
}

/** The Python original as issue 6 quotes it (measured on this machine earlier; not re-run here). */
export const PYTHON_REFERENCE = {
  source: 'issue 6 (the Python original, measured on this machine; not re-run by this bench)',
  at640x480: { p50Ms: 62, p99Ms: 155, lostPercent: 4 },
  at1280x720: { fps: 22, lostPercent: 25 },
};

export interface BenchResults {
  version: 1;
  startedAt: string;
  finishedAt: string;
  mode: 'quick' | 'full' | 'custom';
  timing: { runs: number; warmupSeconds: number; measureSeconds: number };
  machine: { cpus: number; cpuModel: string; node: string; kernel: string; loadAverageAtStart: number[] };
  wiring: string;
  cases: CaseSummary[];
  runs: Array<Omit<RunResult, 'samples'>>;
  floors: { codec: CodecFloor[]; roundTrip: RoundTripFloor[] };
  targets: TargetCheck[];
  reference: typeof PYTHON_REFERENCE;
  notes: string[];
}

export function caseById(id: string): BenchCase | undefined {
  return ALL_CASES.find((c) => c.id === id);
}
