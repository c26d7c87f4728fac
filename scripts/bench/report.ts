/**
 * The bench's results as text: a compact table for the terminal and a markdown report. Figures are
 * medians over the runs; the markdown adds the spread (min-max) where runs > 1.
 */
import { GROUPS, isRealSource } from './cases.js';
import { realSourceFloor } from './real-floor.js';
import type { Spread } from './stats.js';
import type { BenchResults, CaseSummary } from './summary.js';

function num(value: number | undefined, digits = 1): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

/** "7.9" for one run, "7.9 (7.1-8.4)" for more. */
function withSpread(s: Spread | undefined, digits = 1): string {
  if (!s) return '-';
  if (s.runs <= 1 || s.min === s.max) return num(s.median, digits);
  return `${num(s.median, digits)} (${num(s.min, digits)}-${num(s.max, digits)})`;
}

function med(s: Spread | undefined, digits = 1): string {
  return num(s?.median, digits);
}

function viewersLabel(c: CaseSummary): string {
  const { viewers, decoders, frozen, cameras } = c.case;
  return `${cameras > 1 ? `${cameras} cams x ` : ''}${viewers}${frozen ? ` +${frozen} frozen` : ''} (${decoders} dec)`;
}

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

/** The table printed to the terminal: one line per case, medians only. */
export function terminalTable(cases: CaseSummary[]): string {
  const header = [
    'case',
    'broker',
    'viewers',
    'fps min/med',
    'lost',
    'dec p50',
    'p95',
    'p99',
    'max',
    'cli p50',
    'relay',
    'pub',
    'broker',
    'Mbit/s cam',
  ];
  const rows = cases.map((c) => [
    c.case.id,
    c.case.broker,
    viewersLabel(c),
    `${med(c.viewerFpsMin)}/${med(c.viewerFpsMedian)}`,
    med(c.viewerLostTotal, 0),
    med(c.decoded.p50),
    med(c.decoded.p95),
    med(c.decoded.p99),
    med(c.decoded.max),
    med(c.atClient.p50),
    med(c.cpuCores.relay, 2),
    med(c.cpuCores.publisher, 2),
    med(c.cpuCores.broker, 2),
    med(c.cameraMbitPerSecond),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return (
    [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') +
    '\n(latency in ms, capture -> decoded at a viewer; "cli" = capture -> message at any viewer; CPU in cores; medians over runs)'
  );
}

/** The headline table for the README: the issue's questions, one row per case, with spread. */
export function headlineTable(results: BenchResults): string {
  const header = [
    'case',
    'viewers',
    'fps (worst viewer)',
    'lost',
    'grab->decoded p50 / p99 / max ms',
    'relay / publisher / broker CPU (cores)',
    'Mbit/s per camera',
  ];
  return table(
    header,
    results.cases.map((c) => [
      c.case.title,
      viewersLabel(c),
      withSpread(c.viewerFpsMin),
      med(c.viewerLostTotal, 0),
      `${withSpread(c.decoded.p50)} / ${withSpread(c.decoded.p99)} / ${med(c.decoded.max)}`,
      `${med(c.cpuCores.relay, 2)} / ${med(c.cpuCores.publisher, 2)} / ${med(c.cpuCores.broker, 2)}`,
      med(c.cameraMbitPerSecond),
    ]),
  );
}

function splitTable(cases: CaseSummary[]): string {
  const header = [
    'case',
    'in publisher (grab->offered, mean)',
    'JPEG encode (mean)',
    'capture->MQTT subscriber p50',
    'broker hop p50 (approx.)',
    'capture->relay p50',
    'relay->viewer p50 / p99',
    'decode p50',
    'capture->decoded p50',
  ];
  return table(
    header,
    cases.map((c) => [
      c.case.id,
      withSpread(c.split.publisherGrabToOfferMs, 2),
      med(c.split.publisherEncodeMs, 2),
      withSpread(c.split.captureToBrokerP50, 2),
      med(c.split.brokerHopP50, 2),
      withSpread(c.split.captureToRelayP50, 2),
      `${med(c.split.relayToClientP50, 2)} / ${med(c.split.relayToClientP99, 2)}`,
      med(c.split.decodeP50, 2),
      withSpread(c.decoded.p50, 2),
    ]),
  );
}

function costTable(cases: CaseSummary[]): string {
  const header = [
    'case',
    'relay cores',
    'publisher(s) cores',
    'broker cores',
    'viewer clients cores',
    'viewer loop delay p99 ms',
    'load avg (1 min)',
    'peak RSS MiB relay / publisher / broker',
    'bytes/frame',
    'relay egress Mbit/s',
  ];
  return table(
    header,
    cases.map((c) => [
      c.case.id,
      withSpread(c.cpuCores.relay, 2),
      withSpread(c.cpuCores.publisher, 2),
      withSpread(c.cpuCores.broker, 2),
      med(c.cpuCores.viewers, 2),
      med(c.viewerLoopDelayP99Ms, 1),
      withSpread(c.loadAverage, 1),
      `${med(c.peakRssMiB.relay, 0)} / ${med(c.peakRssMiB.publisher, 0)} / ${med(c.peakRssMiB.broker, 0)}`,
      med(c.bytesPerFrame, 0),
      med(c.relayEgressMbitPerSecond, 1),
    ]),
  );
}

function lossTable(cases: CaseSummary[]): string {
  const header = [
    'case',
    'published fps (at MQTT)',
    'lost before relay',
    'viewer fps worst / median',
    'lost at viewers (total / worst viewer)',
    'decodes skipped (newest wins)',
  ];
  return table(
    header,
    cases.map((c) => [
      c.case.id,
      withSpread(c.publishedFps),
      med(c.publishedLost, 0),
      `${withSpread(c.viewerFpsMin)} / ${med(c.viewerFpsMedian)}`,
      `${med(c.viewerLostTotal, 0)} / ${med(c.viewerLostMax, 0)}`,
      med(c.decodeSkipped, 0),
    ]),
  );
}

function section(results: BenchResults, title: string, ids: readonly string[]): string {
  const cases = ids.map((id) => results.cases.find((c) => c.case.id === id)).filter((c): c is CaseSummary => c !== undefined);
  if (cases.length === 0) return '';
  return `### ${title}\n\n${table(
    ['case', 'fps worst', 'lost', 'decoded p50', 'p95', 'p99', 'max', 'relay cores', 'broker cores'],
    cases.map((c) => [
      c.case.title,
      withSpread(c.viewerFpsMin),
      med(c.viewerLostTotal, 0),
      withSpread(c.decoded.p50),
      withSpread(c.decoded.p95),
      withSpread(c.decoded.p99),
      med(c.decoded.max),
      withSpread(c.cpuCores.relay, 2),
      withSpread(c.cpuCores.broker, 2),
    ]),
  )}\n`;
}

function frozenSection(results: BenchResults): string {
  const frozen = results.cases.find((c) => c.case.id === 'frozen');
  const alone = results.cases.find((c) => c.case.id === '640x480-v1');
  if (!frozen) return '';
  const cut = frozen.relayDisconnects
    .map((times) => (times.length ? times.map((t) => `${t.toFixed(1)} s`).join(', ') : 'not cut'))
    .join('; ');
  return `### A frozen viewer next to a live one\n\n${table(
    ['', 'live viewer fps', 'lost', 'decoded p50', 'p99', 'max'],
    [
      [
        'live viewer alone (640x480-v1)',
        withSpread(alone?.viewerFpsMedian),
        med(alone?.viewerLostTotal, 0),
        withSpread(alone?.decoded.p50),
        withSpread(alone?.decoded.p99),
        med(alone?.decoded.max),
      ],
      [
        'live viewer + frozen viewer',
        withSpread(frozen.viewerFpsMedian),
        med(frozen.viewerLostTotal, 0),
        withSpread(frozen.decoded.p50),
        withSpread(frozen.decoded.p99),
        med(frozen.decoded.max),
      ],
    ],
  )}\n\nThe relay disconnected the frozen viewer at (s from the start of the window, per run): ${cut}.\n`;
}

function floorsSection(results: BenchResults): string {
  const codec = table(
    ['size', 'JPEG bytes (q60)', 'encode ms', 'decode ms', 'imencodeAsync ms', 'imdecodeAsync ms'],
    results.floors.codec.map((f) => [
      f.size,
      String(f.bytes),
      num(f.encodeMs, 2),
      num(f.decodeMs, 2),
      num(f.encodeAsyncMs, 2),
      num(f.decodeAsyncMs, 2),
    ]),
  );
  const rtt = table(
    ['broker', 'payload', 'round trip p50 ms', 'p99 ms'],
    results.floors.roundTrip.map((f) => [f.broker, `${f.size} (${f.bytes} B)`, num(f.roundTripMs.p50, 2), num(f.roundTripMs.p99, 2)]),
  );
  return `### Floors (same machine, same run)\n\nOne OpenCV JPEG encode and decode of a real frame (median of 40, bench process otherwise idle; the async columns add the thread-pool hop the publisher and the viewers pay):\n\n${codec}\n\nA bare MQTT round trip (one client publishes a frame-sized QoS 0 payload to a topic it subscribes to; median of 140):\n\n${rtt}\n`;
}

/** Issue 15: each live camera beside its floor from the same bench. */
export function realSourcesTable(results: BenchResults): string {
  const cases = results.cases.filter((c) => isRealSource(c.case));
  return table(
    [
      'case',
      'viewers',
      'fps (worst viewer)',
      'lost',
      'camera->decoded p50 / p99 ms',
      'of which camera->publisher read p50',
      'in publisher (grab->offered) mean',
      'floor ms',
      'p50 / floor',
      'p99 / floor',
      'publisher + helper CPU (cores)',
      'load avg',
    ],
    cases.map((c) => {
      const floor = realSourceFloor(c.case, results.floors);
      const ratio = (value: number | undefined): string => (floor && value !== undefined ? `${(value / floor.ms).toFixed(2)}x` : '-');
      return [
        c.case.title,
        viewersLabel(c),
        withSpread(c.viewerFpsMin),
        med(c.viewerLostTotal, 0),
        `${withSpread(c.decoded.p50)} / ${withSpread(c.decoded.p99)}`,
        med(c.split.cameraToGrabP50),
        med(c.split.publisherGrabToOfferMs),
        floor ? num(floor.ms) : '-',
        ratio(c.decoded.p50?.median),
        ratio(c.decoded.p99?.median),
        withSpread(c.cpuCores.publisher, 2),
        withSpread(c.loadAverage, 1),
      ];
    }),
  );
}

function realSourcesSection(results: BenchResults): string {
  const cases = results.cases.filter((c) => isRealSource(c.case));
  if (cases.length === 0) return '';
  const floors = cases.flatMap((c) => {
    const floor = realSourceFloor(c.case, results.floors);
    return floor && c.case.viewers > 1
      ? [`- ${c.case.title.replace(/, 10 viewers$/, '')}: ${floor.parts} = ${floor.ms.toFixed(1)} ms`]
      : [];
  });
  return `### Real sources (issue 15)\n\nA live camera the bench does not own, each frame stamped with its send time in its pixels; latency runs from that stamp to the decoded picture at a viewer (the file: from the publisher's read). Floors from this bench's own floor measurements:\n\n${realSourcesTable(results)}\n\n${floors.join('\n')}\n`;
}

function targetsSection(results: BenchResults): string {
  return `### Targets (issue 6), compared, not asserted\n\n${table(
    ['target', 'case', 'measured (median of runs)', 'met'],
    results.targets.map((t) => [t.target, t.caseId, t.figure, t.met === undefined ? '-' : t.met ? 'yes' : '**no**']),
  )}\n`;
}

export function markdownReport(results: BenchResults): string {
  const r = results.reference;
  return [
    `# camqtt bench, ${results.startedAt}`,
    '',
    `Mode: ${results.mode} (${results.timing.runs} run(s) per case, ${results.timing.warmupSeconds} s warm-up, ${results.timing.measureSeconds} s measured). Machine: ${results.machine.cpus} x ${results.machine.cpuModel}, Node ${results.machine.node}, Linux ${results.machine.kernel}, load average at start ${results.machine.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}.`,
    '',
    results.wiring,
    '',
    'Figures are medians over the runs, with (min-max) over the runs. Latencies in ms.',
    '',
    '## Headline',
    '',
    headlineTable(results),
    '',
    realSourcesSection(results),
    targetsSection(results),
    `Reference, ${r.source}: 640x480 p50 ${r.at640x480.p50Ms} ms, p99 ${r.at640x480.p99Ms} ms, ${r.at640x480.lostPercent} % of frames lost; 1280x720 ${r.at1280x720.fps} fps, ${r.at1280x720.lostPercent} % lost.`,
    '',
    '## Details',
    '',
    section(results, 'Frame size (30 fps, quality 60)', GROUPS.resolution),
    section(results, 'Fan-out (one camera, 640x480)', GROUPS.fanout),
    section(results, 'Broker comparison (same publisher and relay)', GROUPS.brokers),
    frozenSection(results),
    '### Where the latency goes',
    '',
    splitTable(results.cases),
    '',
    '### Frames and loss',
    '',
    lossTable(results.cases),
    '',
    '### Cost',
    '',
    costTable(results.cases),
    '',
    floorsSection(results),
    ...(results.notes.length ? ['## Notes', '', ...results.notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
}
