/**
 * One SVG figure from the results JSON, written by hand (no chart library): on the left the
 * distribution of capture -> decoded latency (pooled over runs) per case, on the right the
 * delivered fps per viewer against the number of viewers.
 */
import { GROUPS } from './cases.js';
import type { BenchResults, CaseSummary } from './summary.js';

const WIDTH = 980;
const HEIGHT = 420;
const PANEL = { top: 50, bottom: 360, leftA: 60, rightA: 540, leftB: 620, rightB: 950 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function text(x: number, y: number, content: string, extra = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${extra}>${esc(content)}</text>`;
}

/** Log-scale ticks (1, 2, 5, 10, 20, 50 ...) from `from` to `to` ms. */
function logTicks(from: number, to: number): number[] {
  const ticks: number[] = [];
  for (let power = 10 ** Math.floor(Math.log10(from)); power <= to; power *= 10) {
    for (const m of [1, 2, 5]) if (m * power >= from && m * power <= to) ticks.push(m * power);
  }
  return ticks;
}

function latencyPanel(cases: CaseSummary[]): string[] {
  const shown = cases.filter((c) => c.curves.captureToDecoded.length > 0);
  const out: string[] = [];
  const { top, bottom, leftA: left, rightA: right } = PANEL;
  // Log x: the 2 ms floor and a 150 ms tail both stay readable on one axis.
  const all = shown.flatMap((c) => c.curves.captureToDecoded);
  const xMin = Math.max(0.5, 10 ** Math.floor(Math.log10(Math.max(0.5, Math.min(...all, 10)))));
  const largest = Math.max(20, ...all);
  const xMax = logTicks(1, largest * 10).find((tick) => tick >= largest) ?? largest;
  const x = (ms: number): number =>
    left + (Math.log10(Math.min(Math.max(ms, xMin), xMax) / xMin) / Math.log10(xMax / xMin)) * (right - left);
  const y = (p: number): number => bottom - (p / 100) * (bottom - top);
  out.push(
    text(
      (left + right) / 2,
      top - 22,
      'Capture -> decoded at a viewer: share of frames within x ms',
      'text-anchor="middle" font-weight="bold"',
    ),
  );
  for (const ms of logTicks(xMin, xMax)) {
    out.push(
      `<line x1="${x(ms).toFixed(1)}" y1="${top}" x2="${x(ms).toFixed(1)}" y2="${bottom}" stroke="#ddd"/>`,
      text(x(ms), bottom + 16, String(ms), 'text-anchor="middle"'),
    );
  }
  for (const [p, label] of [
    [0, '0 %'],
    [25, '25 %'],
    [50, '50 %'],
    [75, '75 %'],
    [90, '90 %'],
    [100, '100 %'],
  ] as const) {
    out.push(
      `<line x1="${left}" y1="${y(p)}" x2="${right}" y2="${y(p)}" stroke="#eee"/>`,
      text(left - 6, y(p) + 4, label, 'text-anchor="end"'),
    );
  }
  out.push(
    `<line x1="${x(8).toFixed(1)}" y1="${top}" x2="${x(8).toFixed(1)}" y2="${bottom}" stroke="#2ca02c" stroke-dasharray="6 4"/>`,
    text(x(8) - 4, bottom - 8, 'target p50 8 ms (640x480)', 'text-anchor="end" font-size="11" fill="#2ca02c"'),
  );
  out.push(
    text((left + right) / 2, bottom + 36, 'latency, ms (log scale)', 'text-anchor="middle"'),
    text(16, (top + bottom) / 2, 'share of frames', `transform="rotate(-90 16 ${(top + bottom) / 2})" text-anchor="middle"`),
  );
  // A CDF never reaches the lower right corner: the legend goes there.
  const legendTop = bottom - 12 - shown.length * 16;
  shown.forEach((c, index) => {
    const colour = COLOURS[index % COLOURS.length]!;
    const curve = c.curves.captureToDecoded;
    const points = curve.map((ms, p) => `${x(ms).toFixed(1)},${y(p).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points}"/>`);
    const legendY = legendTop + 14 + index * 16;
    out.push(
      `<line x1="${right - 215}" y1="${legendY - 4}" x2="${right - 195}" y2="${legendY - 4}" stroke="${colour}" stroke-width="3"/>`,
      text(
        right - 190,
        legendY,
        `${c.case.title}: p50 ${(curve[50] ?? 0).toFixed(1)}, p99 ${(curve[99] ?? 0).toFixed(0)}`,
        'font-size="10.5"',
      ),
    );
  });
  out.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#888"/>`);
  return out;
}

function fpsPanel(cases: CaseSummary[]): string[] {
  const out: string[] = [];
  const { top, bottom, leftB: left, rightB: right } = PANEL;
  const viewerCounts = [1, 10, 50, 100];
  const logX = (n: number): number => left + (Math.log10(n) / Math.log10(100)) * (right - left);
  const yMax = 35;
  const y = (fps: number): number => bottom - (Math.min(fps, yMax) / yMax) * (bottom - top);
  out.push(text((left + right) / 2, top - 22, 'Delivered fps per viewer vs viewers (640x480)', 'text-anchor="middle" font-weight="bold"'));
  for (const n of viewerCounts)
    out.push(
      `<line x1="${logX(n)}" y1="${top}" x2="${logX(n)}" y2="${bottom}" stroke="#ddd"/>`,
      text(logX(n), bottom + 16, String(n), 'text-anchor="middle"'),
    );
  for (let fps = 0; fps <= yMax; fps += 5)
    out.push(
      `<line x1="${left}" y1="${y(fps)}" x2="${right}" y2="${y(fps)}" stroke="#eee"/>`,
      text(left - 6, y(fps) + 4, String(fps), 'text-anchor="end"'),
    );
  out.push(
    `<line x1="${left}" y1="${y(30)}" x2="${right}" y2="${y(30)}" stroke="#2ca02c" stroke-dasharray="6 4"/>`,
    text(right - 4, y(30) - 6, 'target 30 fps', 'text-anchor="end" font-size="11" fill="#2ca02c"'),
  );
  out.push(
    text((left + right) / 2, bottom + 36, 'viewers on one camera (log scale)', 'text-anchor="middle"'),
    text(left - 40, (top + bottom) / 2, 'fps', `transform="rotate(-90 ${left - 40} ${(top + bottom) / 2})" text-anchor="middle"`),
  );
  const byViewers = GROUPS.fanout.map((id) => cases.find((c) => c.case.id === id)).filter((c): c is CaseSummary => c !== undefined);
  const series: Array<[string, string, (c: CaseSummary) => number | undefined]> = [
    ['worst viewer', '#d62728', (c) => c.viewerFpsMin?.median],
    ['median viewer', '#1f77b4', (c) => c.viewerFpsMedian?.median],
  ];
  series.forEach(([label, colour, pick], index) => {
    const points = byViewers
      .map((c) => [logX(c.case.viewers), pick(c)] as const)
      .filter((p): p is readonly [number, number] => p[1] !== undefined);
    out.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points.map(([px, v]) => `${px.toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const [px, v] of points) out.push(`<circle cx="${px.toFixed(1)}" cy="${y(v).toFixed(1)}" r="3.5" fill="${colour}"/>`);
    const legendY = bottom - 40 + index * 16;
    out.push(
      `<line x1="${left + 10}" y1="${legendY - 4}" x2="${left + 30}" y2="${legendY - 4}" stroke="${colour}" stroke-width="3"/>`,
      text(left + 35, legendY, label, 'font-size="11"'),
    );
  });
  out.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#888"/>`);
  return out;
}

export function latencyFigureSvg(results: BenchResults): string {
  const latencyCases = ['640x480-v1', ...GROUPS.resolution, '640x480-v50', 'mosquitto-v10']
    .map((id) => results.cases.find((c) => c.case.id === id))
    .filter((c): c is CaseSummary => c !== undefined);
  const caption = `camqtt bench ${results.startedAt.slice(0, 16).replace('T', ' ')} - ${results.machine.cpus} cores, ${results.mode} mode, ${results.timing.runs} run(s) x ${results.timing.measureSeconds} s per case, loopback`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    ...latencyPanel(latencyCases),
    ...fpsPanel(results.cases),
    text(WIDTH / 2, HEIGHT - 8, caption, 'text-anchor="middle" font-size="11" fill="#555"'),
    '</svg>',
    '',
  ].join('\n');
}
