/** Command-line options of `npm run bench`. */
import { ALL_CASES, FULL_TIMING, QUICK_TIMING, type BenchCase, type Timing } from './cases.js';

export interface BenchOptions {
  mode: 'quick' | 'full' | 'custom';
  timing: Timing;
  cases: BenchCase[];
  updateReadme: boolean;
  /** Run the cases once with `node --cpu-prof` on broker, publisher and relay, and summarize the profiles. */
  profile: boolean;
  /** --publisher: another build's services/publisher/dist/main.js (a "before" figure in the same bench). */
  publisherEntry?: string;
  help: boolean;
}

export const USAGE = `npm run bench [-- options]       (or: node --import tsx scripts/bench.ts [options] after npm run build)

  --quick            1 run per case, 5 s measured (development)
  --runs N           runs per case (default 3)
  --seconds S        measured seconds per run (default 15)
  --cases a,b        only these cases (an exact id, or a part of ids) (ids: ${ALL_CASES.map((c) => c.id).join(', ')})
  --update-readme    also put the headline table into README.md and the plot into bench/latency.svg
  --profile          run the chosen cases (default 640x480-v50) once with node --cpu-prof on the services
                     and print where their CPU time goes; writes bench/results/profile-<time>.md
  --publisher PATH   run this build of the publisher (e.g. another worktree's services/publisher/dist/main.js),
                     to measure before and after a change on the same machine in the same hour
  --help             this text`;

function positive(flag: string, value: string | undefined, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`${flag} needs a number from 1 to ${max} (got ${JSON.stringify(value)})`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  const options: BenchOptions = {
    mode: 'full',
    timing: { ...FULL_TIMING },
    cases: [...ALL_CASES],
    updateReadme: false,
    profile: false,
    help: false,
  };
  let filter: string[] | undefined;
  let runs: number | undefined;
  let seconds: number | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--quick') options.mode = 'quick';
    else if (arg === '--update-readme') options.updateReadme = true;
    else if (arg === '--profile') options.profile = true;
    else if (arg === '--help' || arg === '-h') options.help = true;
    else if (arg === '--runs') runs = Math.round(positive(arg, argv[++i], 20));
    else if (arg === '--seconds') seconds = positive(arg, argv[++i], 600);
    else if (arg === '--publisher') options.publisherEntry = argv[++i];
    else if (arg === '--cases') filter = (argv[++i] ?? '').split(',').filter(Boolean);
    else throw new Error(`unknown option ${arg}\n\n${USAGE}`);
  }
  if (options.mode === 'quick') options.timing = { ...QUICK_TIMING };
  if (options.profile) {
    options.timing.runs = 1;
    filter ??= ['640x480-v50'];
  }
  if (runs !== undefined || seconds !== undefined) {
    options.mode = options.mode === 'quick' && runs === undefined && seconds === undefined ? 'quick' : 'custom';
    if (runs !== undefined) options.timing.runs = runs;
    if (seconds !== undefined) options.timing.measureSeconds = seconds;
  }
  if (filter) {
    const wanted = filter;
    // An exact id picks that case alone; anything else matches as a part of ids.
    options.cases = ALL_CASES.filter((c) =>
      wanted.some((f) => c.id === f || (!ALL_CASES.some((other) => other.id === f) && c.id.includes(f))),
    );
    if (options.cases.length === 0)
      throw new Error(`--cases ${wanted.join(',')} matches no case (ids: ${ALL_CASES.map((c) => c.id).join(', ')})`);
  }
  return options;
}
