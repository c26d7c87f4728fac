/**
 * `npm run bench:cluster`: the cluster's rows of the bench. Real processes on loopback, as the
 * cluster test runs them (packages/test-support/src/cluster.ts): Debian's Redis, brokers joined
 * through it, relays, test-pattern publishers at 640x480 and 30 fps, and WebSocket viewers in this
 * process. Per case: fps at the worst viewer, frames lost (seq gaps), capture -> viewer latency,
 * and what crosses Redis per camera (frames and bytes a second into Redis, and out of it to the
 * brokers, from Redis's INFO and the brokers' cluster counters), Redis's CPU. Asserts nothing;
 * prints a markdown table and writes JSON to bench/results/.
 *
 * `--cases a,b` picks cases (names below), `--seconds N` the measured window (default 10).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { LoopbackCluster, ReconnectingViewer, ServiceProcess, repoRoot, waitFor } from '@camqtt/test-support';
import { cpuSeconds } from './bench/proc-stats.js';
import { percentile } from './bench/stats.js';

interface CaseSpec {
  name: string;
  what: string;
  brokers: number;
  relays: number;
  cameras: number;
  /** The broker each camera publishes to (by camera index). */
  cameraOn: (camera: number) => number;
  /** The broker each relay links to. */
  relayOn: (relay: number) => number;
  /** Viewers per relay index. */
  viewersOn: Record<number, number>;
  /** Cameras the viewers select (by index); all when absent. */
  watched?: number[];
  relayEnv?: Record<string, string>;
}

const FPS = 30;
const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
};
const MEASURE_S = Number(option('seconds') ?? 10);
const WARMUP_MS = 3000;

const hop = (name: string, what: string, brokers: number, relayOn: number): CaseSpec => ({
  name,
  what,
  brokers,
  relays: 1,
  cameras: 1,
  cameraOn: () => 0,
  relayOn: () => relayOn,
  viewersOn: { 0: 10 },
});

const routing = (watchedOnly: boolean): CaseSpec => ({
  name: watchedOnly ? 'cluster-routing-watched' : 'cluster-routing-all',
  what: `2 cameras on broker A, relays on A and B, 10 viewers on relay B watching camera 1 only; ${watchedOnly ? 'relays take only watched frames (WEB_FRAMES_WATCHED_ONLY=true)' : 'relays take every frame (default)'}`,
  brokers: 2,
  relays: 2,
  cameras: 2,
  cameraOn: () => 0,
  relayOn: (relay) => relay,
  viewersOn: { 1: 10 },
  watched: [0],
  relayEnv: { WEB_FRAMES_WATCHED_ONLY: String(watchedOnly) },
});

const CASES: CaseSpec[] = [
  hop('cluster-off', 'one broker, no Redis (the single-broker path)', 1, 0),
  hop('cluster-same-broker', 'camera and relay on broker A, through Redis', 2, 0),
  hop('cluster-hop', 'camera on broker A, relay on broker B', 2, 1),
  routing(false),
  routing(true),
  ...[20, 40].map((viewers): CaseSpec => ({
    name: `cluster-viewers-${viewers}`,
    what: `2 cameras on broker A, ${viewers} viewers of both, half on relay A, half on relay B; relays take only watched frames`,
    brokers: 2,
    relays: 2,
    cameras: 2,
    cameraOn: () => 0,
    relayOn: (relay) => relay,
    viewersOn: { 0: viewers / 2, 1: viewers / 2 },
    relayEnv: { WEB_FRAMES_WATCHED_ONLY: 'true' },
  })),
  ...[2, 4, 6, 8].map((cameras): CaseSpec => ({
    name: `cluster-max-${cameras}`,
    what: `${cameras} cameras on broker A, 10 viewers of all of them on relay B (broker B)`,
    brokers: 2,
    relays: 2,
    cameras,
    cameraOn: () => 0,
    relayOn: (relay) => relay,
    viewersOn: { 1: 10 },
  })),
];

interface Row {
  case: string;
  what: string;
  cameras: number;
  viewers: number;
  worstFps: number;
  lost: number;
  latencyP50: number;
  latencyP99: number;
  /** Per camera, a second. */
  redisFramesIn: number;
  redisFramesOut: number;
  redisMbitIn: number;
  redisMbitOut: number;
  redisCores: number;
  brokerCores: number[];
}

async function brokerCounter(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`camqtt_broker_${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function runCase(spec: CaseSpec): Promise<Row> {
  const ids = Array.from({ length: spec.cameras }, (_, i) => `bench${i + 1}`);
  const cluster = await LoopbackCluster.start({
    brokers: spec.brokers,
    relays: spec.relays,
    cameras: ids,
    redis: spec.brokers > 1,
    relayBroker: spec.relayOn,
    ...(spec.relayEnv ? { relayEnv: spec.relayEnv } : {}),
  });
  const publishers: ServiceProcess[] = [];
  const viewers: ReconnectingViewer[] = [];
  try {
    for (const [i, id] of ids.entries()) {
      const broker = cluster.brokers[spec.cameraOn(i)]!;
      publishers.push(
        ServiceProcess.start('publisher', {
          ...cluster.clientEnv(id, broker.ports.mqtts!),
          CAMERA_ID: id,
          CAMERA_SOURCE: 'testsrc',
          VIDEO_WIDTH: '640',
          VIDEO_HEIGHT: '480',
          VIDEO_FPS: String(FPS),
          LOG_LEVEL: 'info',
        }),
      );
    }
    const watched = (spec.watched ?? ids.map((_, i) => i)).map((i) => ids[i]!);
    for (const [relay, count] of Object.entries(spec.viewersOn)) {
      const port = cluster.relays[Number(relay)]!.ports.http!;
      for (let v = 0; v < count; v += 1) {
        const viewer = new ReconnectingViewer(`ws://127.0.0.1:${port}/ws`, spec.watched ? watched : undefined);
        viewer.start();
        viewers.push(viewer);
      }
    }
    await waitFor(
      'frames of every watched camera at every viewer',
      () => viewers.every((viewer) => watched.every((id) => viewer.framesSince(id, 0).length > 0)),
      30_000,
    );
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));

    const redisPid = cluster.redis?.pid;
    const brokerPids = cluster.brokers.map((b) => b.process.pid);
    const sample = async (): Promise<{ at: number; info: Record<string, string>; out: number; redisCpu: number; brokerCpu: number[] }> => ({
      at: Date.now(),
      info: spec.brokers > 1 ? await cluster.redisInfo() : {},
      out: (await Promise.all(cluster.brokers.map((b) => brokerCounter(b.ports.http!, 'cluster_messages_received_total')))).reduce(
        (a, b) => a + b,
        0,
      ),
      redisCpu: cpuSeconds(redisPid) ?? 0,
      brokerCpu: brokerPids.map((pid) => cpuSeconds(pid) ?? 0),
    });
    const start = await sample();
    await new Promise((resolve) => setTimeout(resolve, MEASURE_S * 1000));
    const end = await sample();
    const seconds = (end.at - start.at) / 1000;

    let worstFps = Infinity;
    let lost = 0;
    const latencies: number[] = [];
    for (const viewer of viewers) {
      for (const id of watched) {
        const frames = viewer.frames.filter((f) => f.camera === id && f.at > start.at && f.at <= end.at);
        worstFps = Math.min(worstFps, frames.length / seconds);
        for (let i = 1; i < frames.length; i += 1) lost += Math.max(0, frames[i]!.seq - frames[i - 1]!.seq - 1);
        for (const frame of frames) latencies.push(frame.at - frame.captureTime);
      }
    }
    const delta = (name: string): number => Number(end.info[name] ?? 0) - Number(start.info[name] ?? 0);
    const publishCalls = (info: Record<string, string>): number => Number(/calls=(\d+)/.exec(info.cmdstat_publish ?? '')?.[1] ?? 0);
    const perCamera = (value: number): number => value / seconds / spec.cameras;
    return {
      case: spec.name,
      what: spec.what,
      cameras: spec.cameras,
      viewers: viewers.length,
      worstFps,
      lost,
      latencyP50: percentile(latencies, 50) ?? Number.NaN,
      latencyP99: percentile(latencies, 99) ?? Number.NaN,
      redisFramesIn: perCamera(publishCalls(end.info) - publishCalls(start.info)),
      redisFramesOut: perCamera(end.out - start.out),
      redisMbitIn: (perCamera(delta('total_net_input_bytes')) * 8) / 1e6,
      redisMbitOut: (perCamera(delta('total_net_output_bytes')) * 8) / 1e6,
      redisCores: (end.redisCpu - start.redisCpu) / seconds,
      brokerCores: end.brokerCpu.map((cpu, i) => (cpu - start.brokerCpu[i]!) / seconds),
    };
  } finally {
    for (const viewer of viewers) viewer.stop();
    await Promise.all(publishers.map((p) => p.stop()));
    await cluster.stop();
  }
}

const fixed = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');

async function main(): Promise<void> {
  const names = option('cases')?.split(',');
  const cases = names
    ? CASES.filter((c) => names.some((n) => c.name === n || (n.endsWith('*') && c.name.startsWith(n.slice(0, -1)))))
    : CASES;
  const rows: Row[] = [];
  console.log(
    '| case | cameras x viewers | fps (worst viewer) | lost | capture->viewer p50 / p99 ms | Redis in, per camera: frames/s, Mbit/s | Redis out, per camera: frames/s, Mbit/s | Redis CPU (cores) | broker CPU (cores) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const spec of cases) {
    const row = await runCase(spec);
    rows.push(row);
    const redis = spec.brokers > 1;
    console.log(
      `| ${row.case}: ${row.what} | ${row.cameras} x ${row.viewers} | ${fixed(row.worstFps)} | ${row.lost} | ${fixed(row.latencyP50)} / ${fixed(row.latencyP99)} | ${redis ? `${fixed(row.redisFramesIn)}, ${fixed(row.redisMbitIn)}` : '-'} | ${redis ? `${fixed(row.redisFramesOut)}, ${fixed(row.redisMbitOut)}` : '-'} | ${redis ? fixed(row.redisCores, 3) : '-'} | ${row.brokerCores.map((c) => fixed(c, 2)).join(' + ')} |`,
    );
  }
  await mkdir(`${repoRoot}bench/results`, { recursive: true });
  const file = `${repoRoot}bench/results/cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  await writeFile(file, `${JSON.stringify({ measured: new Date().toISOString(), seconds: MEASURE_S, rows }, null, 2)}\n`);
  console.log(`\nJSON: ${file}`);
}

await main();
