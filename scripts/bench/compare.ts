/**
 * Before and after a publisher change, side by side: reads two bench JSON reports (the "before"
 * one run with --publisher pointing at the old build) and prints one markdown row per real-source
 * case of the "after" report: fps, loss, latency and its floor (both from the after run), and the
 * publisher's CPU before -> after. For the README's real-source table.
 *
 * Run: node --import tsx scripts/bench/compare.ts <before.json> <after.json> [<after.json> ...]
 * (a case in a later "after" report replaces the same case of an earlier one, each beside the
 * floors of its own report)
 */
import { readFileSync } from 'node:fs';
import { ALL_CASES, isRealSource } from './cases.js';
import { realSourceFloor } from './real-floor.js';
import type { Spread } from './stats.js';
import type { BenchResults, CaseSummary } from './summary.js';

function load(path: string): BenchResults {
  return JSON.parse(readFileSync(path, 'utf8')) as BenchResults;
}

function num(value: number | undefined, digits = 1): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

function range(s: Spread | undefined, digits = 1): string {
  if (!s) return '-';
  return s.runs > 1 && s.min !== s.max ? `${num(s.median, digits)} (${num(s.min, digits)}-${num(s.max, digits)})` : num(s.median, digits);
}

function row(after: CaseSummary, before: CaseSummary | undefined, results: BenchResults): string[] {
  const floor = realSourceFloor(after.case, results.floors);
  const ratio = (v: number | undefined): string => (floor && v !== undefined ? `${(v / floor.ms).toFixed(1)}x` : '-');
  return [
    after.case.title.replace(/, 1 viewers?$|, 10 viewers$/, ''),
    String(after.case.viewers),
    `${range(after.viewerFpsMin)} (${num(before?.viewerFpsMin?.median)})`,
    num(after.viewerLostTotal?.median, 0),
    `${range(after.decoded.p50)} / ${range(after.decoded.p99)} (${num(before?.decoded.p50?.median)} / ${num(before?.decoded.p99?.median)})`,
    floor ? `${num(floor.ms)}: ${ratio(after.decoded.p50?.median)} / ${ratio(after.decoded.p99?.median)}` : '-',
    num(after.split.cameraToGrabP50?.median),
    `${num(before?.cpuCores.publisher?.median, 2)} -> ${range(after.cpuCores.publisher, 2)}`,
    range(after.loadAverage),
  ];
}

const [beforePath, ...afterPaths] = process.argv.slice(2);
if (!beforePath || afterPaths.length === 0) throw new Error('usage: compare.ts <before.json> <after.json> [<after.json> ...]');
const before = load(beforePath);
const latest = new Map<string, { summary: CaseSummary; results: BenchResults }>();
for (const path of afterPaths) {
  const results = load(path);
  for (const summary of results.cases.filter((c) => isRealSource(c.case))) latest.set(summary.case.id, { summary, results });
}
const header = [
  'source -> published',
  'viewers',
  'fps, worst viewer (before)',
  'lost',
  'camera->decoded p50 / p99 ms (before)',
  'floor ms: p50 / p99 as x floor',
  'camera->publisher read p50',
  'publisher + helper CPU, cores: before -> after',
  'load avg',
];
const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
const order = ALL_CASES.map((c) => c.id);
const rows = [...latest.values()].sort((x, y) => order.indexOf(x.summary.case.id) - order.indexOf(y.summary.case.id));
for (const { summary, results } of rows) {
  const old = before.cases.find((c) => c.case.id === summary.case.id);
  lines.push(`| ${row(summary, old, results).join(' | ')} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
