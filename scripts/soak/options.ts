/** Command-line options of `npm run soak`, parsed with Node's util.parseArgs. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '@camqtt/test-support';

export interface SoakOptions {
  minutes: number;
  /** Cameras: the first plays a video file, the second is 1280x720, the rest are 640x480 test patterns. */
  cameras: number;
  fps: number;
  wsViewers: number;
  mjpegClients: number;
  /** Seconds between two samples of every process. */
  sampleSeconds: number;
  /** Share of the run before which the slopes are not fitted (1/6 by default: minute 10 of a 60-minute run). */
  warmupFraction: number;
  /** Minutes of one fault cycle (the issue: a broker kill every 5 minutes). */
  cycleMinutes: number;
  /** Seconds a fault lasts at most: the network drop and the vanished source. */
  faultSeconds: number;
  /** A live viewer must have fresh frames this long after a fault ended (the issue: 3 s). */
  recoverySeconds: number;
  /** Growth over the fitted window that fails a memory or fd verdict (the issue: 10 %). */
  maxGrowthPercent: number;
  resultsDir: string;
  help: boolean;
}

export const USAGE = `npm run soak [-- options]     (or: node --import tsx scripts/soak.ts [options] after npm run build)

  --minutes N          how long to run (default 30; CI runs 2)
  --cameras N          cameras (default 4: a video file, one 1280x720 test pattern, the rest 640x480)
  --fps N              frames per second of every camera (default 30)
  --ws-viewers N       WebSocket viewers (default 50)
  --mjpeg-clients N    MJPEG clients (default 10)
  --sample-seconds N   seconds between samples (default 10)
  --warmup-fraction F  share of the run left out of the fitted slopes (default 1/6: minute 10 of a 60-minute run)
  --cycle-minutes N    one round of faults every N minutes (default 5: a broker kill -9 every 5 min; the
                       relay is restarted in the first round only, so its slow leaks have time to show)
  --fault-seconds N    length of the network drop and of the vanished source (default 10)
  --recovery-seconds N a live viewer must have fresh frames this long after each fault (default 3)
  --max-growth N       % growth of RSS, heap or fds over the fitted window that fails the verdict (default 10)
  --results-dir DIR    where the JSON and SVG go (default soak/results)
  --help               this text`;

function numberOption(values: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`--${name} needs a number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  return n;
}

export function parseSoakOptions(argv: string[]): SoakOptions {
  const names = [
    'minutes',
    'cameras',
    'fps',
    'ws-viewers',
    'mjpeg-clients',
    'sample-seconds',
    'warmup-fraction',
    'cycle-minutes',
    'fault-seconds',
    'recovery-seconds',
    'max-growth',
    'results-dir',
  ];
  const { values } = parseArgs({
    args: argv,
    options: { ...Object.fromEntries(names.map((name) => [name, { type: 'string' as const }])), help: { type: 'boolean' as const } },
    strict: true,
  }) as { values: Record<string, string | boolean | undefined> };
  return {
    minutes: numberOption(values, 'minutes', 30, 1, 24 * 60),
    cameras: numberOption(values, 'cameras', 4, 1, 16),
    fps: numberOption(values, 'fps', 30, 1, 60),
    wsViewers: numberOption(values, 'ws-viewers', 50, 1, 500),
    mjpegClients: numberOption(values, 'mjpeg-clients', 10, 0, 100),
    sampleSeconds: numberOption(values, 'sample-seconds', 10, 1, 600),
    warmupFraction: numberOption(values, 'warmup-fraction', 1 / 6, 0, 0.9),
    cycleMinutes: numberOption(values, 'cycle-minutes', 5, 0.5, 24 * 60),
    faultSeconds: numberOption(values, 'fault-seconds', 10, 1, 120),
    recoverySeconds: numberOption(values, 'recovery-seconds', 3, 0.5, 120),
    maxGrowthPercent: numberOption(values, 'max-growth', 10, 0, 1000),
    resultsDir: typeof values['results-dir'] === 'string' ? values['results-dir'] : join(repoRoot, 'soak', 'results'),
    help: values.help === true,
  };
}
