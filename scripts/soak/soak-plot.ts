/**
 * The soak's SVG: four panels over time (RSS, open fds, heap used per process, and delivered fps
 * per normal viewer per camera), with the fault windows shaded and named, drawn by hand as the
 * bench's figure is (its text helpers are reused).
 */
import { text } from '../bench/svg-plot.js';
import type { FaultWindow, FpsChange } from './faults.js';
import type { SoakReport } from './report.js';
import type { Sample } from './sampler.js';

const WIDTH = 980;
const PANEL_HEIGHT = 170;
const LEFT = 70;
const RIGHT = 760;
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#e377c2', '#7f7f7f', '#bcbd22'];

interface Series {
  name: string;
  /** Separate runs of points: a process started again starts a new segment. */
  segments: Array<Array<[number, number]>>;
}

function processSeries(samples: Sample[], pick: (p: Sample['processes'][number]) => number | undefined): Series[] {
  const byLabel = new Map<string, { lastPid: number; segments: Array<Array<[number, number]>> }>();
  for (const sample of samples) {
    for (const p of sample.processes) {
      if (p.label === 'soak') continue;
      const value = pick(p);
      if (value === undefined) continue;
      let series = byLabel.get(p.label);
      if (!series) byLabel.set(p.label, (series = { lastPid: p.pid, segments: [[]] }));
      if (series.lastPid !== p.pid) series.segments.push([]);
      series.lastPid = p.pid;
      series.segments.at(-1)!.push([sample.t, value]);
    }
  }
  return [...byLabel].map(([name, { segments }]) => ({ name, segments }));
}

/** Short names over the shaded windows of the first panel. */
const FAULT_LABELS: Record<string, string> = {
  'broker-kill': 'B',
  'relay-restart': 'R',
  'network-drop': 'N',
  'source-vanish': 'S',
  'users-reload': 'U',
};
const LEGEND = 'B broker kill -9, R relay restart, N network drop, S source vanishes, U users-file reload';

function panel(
  top: number,
  title: string,
  unit: string,
  series: Series[],
  windows: FaultWindow[],
  tMax: number,
  labelFaults = false,
): string[] {
  const bottom = top + PANEL_HEIGHT - 40;
  const values = series.flatMap((s) => s.segments.flat().map(([, v]) => v));
  const yMax = Math.max(1, ...values) * 1.1;
  const x = (t: number): number => LEFT + (t / Math.max(1, tMax)) * (RIGHT - LEFT);
  const y = (v: number): number => bottom - (v / yMax) * (bottom - top);
  const out = [text(LEFT, top - 8, title, 'font-weight="bold"')];
  for (const w of windows) {
    out.push(
      `<rect x="${x(w.start).toFixed(1)}" y="${top}" width="${Math.max(1, x(w.excusedUntil) - x(w.start)).toFixed(1)}" height="${bottom - top}" fill="#f4c7c3" opacity="0.5"/>`,
    );
    if (labelFaults) out.push(text(x(w.start) + 2, top + 11, FAULT_LABELS[w.kind] ?? '?', 'font-size="10" fill="#a33"'));
  }
  for (let i = 0; i <= 4; i += 1) {
    const v = (yMax / 4) * i;
    out.push(
      `<line x1="${LEFT}" y1="${y(v).toFixed(1)}" x2="${RIGHT}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`,
      text(LEFT - 6, y(v) + 4, v >= 10 ? v.toFixed(0) : v.toFixed(1), 'text-anchor="end" font-size="10"'),
    );
  }
  out.push(text(16, (top + bottom) / 2, unit, `transform="rotate(-90 16 ${(top + bottom) / 2})" text-anchor="middle" font-size="11"`));
  series.forEach((s, index) => {
    const colour = COLOURS[index % COLOURS.length]!;
    for (const segment of s.segments) {
      if (segment.length === 0) continue;
      const points = segment.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      out.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${points}"/>`);
    }
    const legendY = top + 10 + index * 13;
    out.push(
      `<line x1="${RIGHT + 12}" y1="${legendY - 4}" x2="${RIGHT + 30}" y2="${legendY - 4}" stroke="${colour}" stroke-width="3"/>`,
      text(RIGHT + 35, legendY, s.name, 'font-size="10"'),
    );
  });
  out.push(`<rect x="${LEFT}" y="${top}" width="${RIGHT - LEFT}" height="${bottom - top}" fill="none" stroke="#888"/>`);
  for (let t = 0; t <= tMax + 1; t += tMax > 900 ? 300 : tMax > 240 ? 60 : 30)
    out.push(text(x(t), bottom + 14, (t / 60).toFixed(t % 60 === 0 ? 0 : 1), 'text-anchor="middle" font-size="10"'));
  return out;
}

/** Dashed lines where a control command changed a camera's fps, on the fps panel. */
function fpsMarks(top: number, changes: FpsChange[], tMax: number): string[] {
  const bottom = top + PANEL_HEIGHT - 40;
  return changes.flatMap((change) => {
    const x = LEFT + (change.t / Math.max(1, tMax)) * (RIGHT - LEFT);
    return [
      `<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${bottom}" stroke="#555" stroke-dasharray="3 3"/>`,
      text(x + 2, bottom - 4, `${change.fps} fps`, 'font-size="9" fill="#555"'),
    ];
  });
}

export function soakFigureSvg(report: Pick<SoakReport, 'samples' | 'faults' | 'fpsChanges' | 'caption'>): string {
  const { samples, faults: windows, caption } = report;
  const tMax = samples.at(-1)?.t ?? 1;
  const cameras = Object.keys(samples[0]?.viewers.fpsPerViewer ?? {});
  const fps: Series[] = cameras.map((camera) => ({
    name: camera,
    segments: [samples.map((s): [number, number] => [s.t, s.viewers.fpsPerViewer[camera] ?? 0])],
  }));
  const panels = [
    panel(
      40,
      'Resident memory (RSS) per process',
      'MiB',
      processSeries(samples, (p) => p.rssMiB),
      windows,
      tMax,
      true,
    ),
    panel(
      40 + PANEL_HEIGHT,
      'Open file descriptors per process',
      'fds',
      processSeries(samples, (p) => p.fds),
      windows,
      tMax,
    ),
    panel(
      40 + 2 * PANEL_HEIGHT,
      'Heap used per Node process',
      'MiB',
      processSeries(samples, (p) => p.heapUsedMiB),
      windows,
      tMax,
    ),
    [
      ...panel(
        40 + 3 * PANEL_HEIGHT,
        `Delivered fps per normal viewer, by camera (mean over each sample)${report.fpsChanges[0] ? `; dashed: ${report.fpsChanges[0].camera}'s fps set by command` : ''}`,
        'fps',
        fps,
        windows,
        tMax,
      ),
      ...fpsMarks(40 + 3 * PANEL_HEIGHT, report.fpsChanges, tMax),
    ],
  ];
  const height = 40 + 4 * PANEL_HEIGHT + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    text(WIDTH / 2, 18, `camqtt soak, minutes on the x axis; shaded: fault windows (${LEGEND})`, 'text-anchor="middle" font-size="11"'),
    ...panels.flat(),
    text(WIDTH / 2, height - 8, caption, 'text-anchor="middle" font-size="11" fill="#555"'),
    '</svg>',
    '',
  ].join('\n');
}
