/**
 * Reads a V8 .cpuprofile (what `node --cpu-prof` writes on exit) and says where the time went:
 * self time per function and per package (node_modules/<package>, our own folders, node: built-ins).
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Share of the sampled time that was not idle. */
  busyMs: number;
  topFunctions: Array<{ name: string; where: string; selfMs: number; percentOfBusy: number }>;
  byPackage: Array<{ name: string; selfMs: number; percentOfBusy: number }>;
}

/** Which package or folder a script URL belongs to. */
function packageOf(url: string): string {
  if (url === '') return '(native / VM)';
  if (url.startsWith('node:')) return 'node: built-ins';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const ours = /\/(broker|services\/publisher|services\/protocol|web)\//.exec(url);
  return ours ? `camqtt ${ours[1]}` : url.replace(/^file:\/\//, '');
}

function shortWhere(url: string, line: number): string {
  const trimmed = url.replace(/^file:\/\/.*?node_modules\//, '').replace(/^file:\/\/.*?\/(broker|services|web)\//, '$1/');
  return trimmed ? `${trimmed}:${line + 1}` : '';
}

export async function summarizeCpuProfile(file: string, top = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfByNode = new Map<number, number>();
  let totalUs = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    totalUs += delta;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + delta);
  });
  const byFunction = new Map<string, { name: string; where: string; us: number }>();
  const byPackage = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfByNode) {
    const frame = nodes.get(id)?.callFrame;
    if (!frame) continue;
    const name = frame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idleUs += us;
      continue;
    }
    const key = `${name}@${frame.url}:${frame.lineNumber}`;
    const entry = byFunction.get(key) ?? { name, where: shortWhere(frame.url, frame.lineNumber), us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
    const pkg = name === '(garbage collector)' || name === '(program)' ? name : packageOf(frame.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  const pct = (us: number): number => (us / busyUs) * 100;
  return {
    file,
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    topFunctions: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, percentOfBusy: pct(f.us) })),
    byPackage: [...byPackage.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, percentOfBusy: pct(us) })),
  };
}

export function profileMarkdown(label: string, summary: ProfileSummary): string {
  const lines = [
    `#### ${label}`,
    '',
    `Sampled ${(summary.totalMs / 1000).toFixed(1)} s, busy (not idle) ${(summary.busyMs / 1000).toFixed(1)} s. Self time by package:`,
    '',
    '| package | self ms | % of busy |',
    '| --- | --- | --- |',
    ...summary.byPackage.map((p) => `| ${p.name} | ${p.selfMs.toFixed(0)} | ${p.percentOfBusy.toFixed(1)} |`),
    '',
    'Top functions by self time:',
    '',
    '| function | where | self ms | % of busy |',
    '| --- | --- | --- | --- |',
    ...summary.topFunctions.map((f) => `| ${f.name} | ${f.where} | ${f.selfMs.toFixed(0)} | ${f.percentOfBusy.toFixed(1)} |`),
    '',
  ];
  return lines.join('\n');
}
