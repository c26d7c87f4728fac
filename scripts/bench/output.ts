/**
 * Where the results go: bench/results/<time>.{json,md} plus latest.{json,md,svg} (git-ignored),
 * and with --update-readme the headline table in README.md, the plot bench/latency.svg and the
 * report they came from, bench/report.md (all three committed, so the README's link works).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './processes.js';
import { headlineTable, markdownReport } from './report.js';
import type { BenchResults } from './summary.js';
import { latencyFigureSvg } from './svg-plot.js';

export const resultsDir = join(repoRoot, 'bench', 'results');
const benchDir = join(repoRoot, 'bench');

export function timestampForFile(iso: string): string {
  return iso.replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
}

export async function writeResults(results: BenchResults): Promise<string[]> {
  await mkdir(resultsDir, { recursive: true });
  const stamp = timestampForFile(results.startedAt);
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const markdown = `${markdownReport(results)}\n`;
  const svg = latencyFigureSvg(results);
  const files: Array<[string, string]> = [
    [join(resultsDir, `${stamp}.json`), json],
    [join(resultsDir, `${stamp}.md`), markdown],
    [join(resultsDir, `${stamp}.svg`), svg],
    [join(resultsDir, 'latest.json'), json],
    [join(resultsDir, 'latest.md'), markdown],
    [join(resultsDir, 'latest.svg'), svg],
  ];
  for (const [path, content] of files) await writeFile(path, content);
  return files.map(([path]) => path);
}

const README_START = '<!-- bench:start (written by `npm run bench -- --update-readme`; do not edit by hand) -->';
const README_END = '<!-- bench:end -->';
/** The report the README's figures come from, committed beside them (bench/results/ is not). */
const README_REPORT = 'report.md';

/**
 * The README's part, from the same JSON: the headline table goes into README.md between the
 * bench markers, the figure into bench/latency.svg (which the README shows).
 */
export async function writeReadmeFigures(results: BenchResults): Promise<string[]> {
  const figures = [
    README_START,
    '',
    `Measured ${results.startedAt.slice(0, 10)} on ${results.machine.cpus} cores (${results.machine.cpuModel}), loopback, ${results.timing.runs} run(s) x ${results.timing.measureSeconds} s per case; medians (min-max over runs). Latency = capture at the camera -> decoded image at a viewer, ms.`,
    '',
    headlineTable(results),
    '',
    targetsLine(results),
    '',
    '![Latency distribution and fps vs viewers](bench/latency.svg)',
    '',
    README_END,
  ].join('\n');
  const readmePath = join(benchDir, '..', 'README.md');
  const readme = await readFile(readmePath, 'utf8');
  const from = readme.indexOf(README_START);
  const to = readme.indexOf(README_END);
  if (from < 0 || to < from) throw new Error(`README.md has no "${README_START}" ... "${README_END}" block to replace`);
  await writeFile(readmePath, readme.slice(0, from) + figures + readme.slice(to + README_END.length));
  const svgPath = join(benchDir, 'latency.svg');
  await writeFile(svgPath, latencyFigureSvg(results));
  const reportPath = join(benchDir, README_REPORT);
  await writeFile(reportPath, `${markdownReport(results)}\n`);
  return [readmePath, svgPath, reportPath];
}

/** One line on the issue's targets: how many were met, and each one missed with its figure. */
function targetsLine(results: BenchResults): string {
  const measured = results.targets.filter((t) => t.met !== undefined);
  const missed = measured.filter((t) => t.met === false);
  const detail = missed.map((t) => `${t.target} [${t.caseId}]: ${t.figure}`).join('; ');
  return `Targets (640x480 @ 30 fps unless named): ${measured.length - missed.length} of ${measured.length} met${missed.length > 0 ? `; missed: ${detail}` : ''}. Full report: [bench/${README_REPORT}](bench/${README_REPORT}).`;
}
