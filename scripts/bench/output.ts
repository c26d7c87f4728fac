/**
 * Where the results go: bench/results/<time>.{json,md} plus latest.{json,md,svg} (git-ignored),
 * and with --update-readme the committed copies bench/README-figures.md and bench/latency.svg.
 */
import { mkdir, writeFile } from 'node:fs/promises';
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

/** The README's part: the headline table and the figure, from the same JSON. */
export async function writeReadmeFigures(results: BenchResults): Promise<string[]> {
  const figures = [
    '<!-- Written by `npm run bench -- --update-readme` from bench/results/latest.json; do not edit by hand. -->',
    '',
    `Measured ${results.startedAt.slice(0, 10)} on ${results.machine.cpus} cores (${results.machine.cpuModel}), loopback, ${results.timing.runs} run(s) x ${results.timing.measureSeconds} s per case; medians (min-max over runs). Latency = capture at the camera -> decoded image at a viewer, ms.`,
    '',
    headlineTable(results),
    '',
    '![Latency distribution and fps vs viewers](latency.svg)',
    '',
  ].join('\n');
  const paths = [join(benchDir, 'README-figures.md'), join(benchDir, 'latency.svg')];
  await writeFile(paths[0]!, figures);
  await writeFile(paths[1]!, latencyFigureSvg(results));
  return paths;
}

export const README_LINES = `## Performance

\`npm run bench\` starts the real broker, publisher and relay on loopback, drives them with WebSocket
viewers and reports latency (capture -> decoded at a viewer), delivered fps, lost frames and CPU and
memory per process (about 15 minutes; \`npm run bench -- --quick\` takes about 3). Latest figures
([bench/README-figures.md](bench/README-figures.md), written by \`npm run bench -- --update-readme\`):

![Latency distribution and fps vs viewers](bench/latency.svg)`;
