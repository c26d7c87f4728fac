/**
 * One run of one case: start the stack, connect the viewers and the MQTT probe, wait for frames,
 * warm up, then measure for a fixed window and tear everything down (always, even on error).
 */
import { loadavg } from 'node:os';
import { stamped, type BenchCase, type Timing } from './cases.js';
import { nowMs } from './clock.js';
import { FrameProbe } from './mqtt-probe.js';
import { sleep, type ServiceProcess } from './processes.js';
import { CpuWindow } from './proc-stats.js';
import { PUBLISHER_STATS_INTERVAL_S, startBenchStack, TOPIC_PREFIX, type StackOptions } from './stack.js';
import { distribution, type Distribution } from './stats.js';
import type { CollectedViewer, FleetReply } from './viewer-fleet.js';
import { ViewerFleet } from './viewer-fleet-client.js';
import type { ViewerKind } from './viewers.js';

export interface ProcessCost {
  /** Cores used over the window (1 = one full core), user + system. */
  cores?: number;
  peakRssMiB?: number;
}

export interface RunResult {
  caseId: string;
  run: number;
  windowSeconds: number;
  /** Capture -> decoded image in a decoding viewer (pooled over the decoders). */
  captureToDecoded: Distribution;
  /** Capture -> message at a viewer (every live viewer, no decode). */
  captureToClient: Distribution;
  /** Capture -> message at the bench's MQTT subscriber on the broker. */
  captureToBroker: Distribution;
  /** Capture -> the relay's receivedAt stamp. */
  captureToRelay: Distribution;
  /** The relay's receivedAt -> message at a viewer. */
  relayToClient: Distribution;
  decodeMs: Distribution;
  /** Stamped cameras: the camera's send time -> the publisher's read of the frame. */
  cameraToGrab: Distribution;
  /** The publisher's own mean grab -> offered-to-MQTT time and JPEG encode time (its debug log). */
  publisherGrabToOfferMs?: number;
  publisherEncodeMs?: number;
  /** Frames per second each live viewer got of each camera: worst and median viewer. */
  viewerFpsMin: number;
  viewerFpsMedian: number;
  /** Frames lost by viewers (sequence gaps): total over viewers, and the worst viewer. */
  viewerLostTotal: number;
  viewerLostMax: number;
  /** Frames a decoding viewer skipped because a newer one arrived during a decode (not lost on the wire). */
  decodeSkipped: number;
  /** Stamped cameras: decoded frames whose send-time stamp could not be read (not timed). */
  unstamped: number;
  /** What reached the MQTT subscriber: fps per camera (mean), gaps (lost before the relay). */
  publishedFps: number;
  publishedLost: number;
  bytesPerFrame: number;
  /** One camera's stream, and everything the relay sent to viewers. */
  cameraMbitPerSecond: number;
  relayEgressMbitPerSecond: number;
  /** `viewers`: the viewer fleet processes together (the bench's clients, not camqtt). */
  cost: { broker: ProcessCost; publisher: ProcessCost; relay: ProcessCost; viewers: ProcessCost };
  /**
   * The worst viewer process's event-loop delay p99 over the window (ms): how late a viewer may
   * have noticed a message. Large values mean the client side, not camqtt, inflated the latencies.
   */
  viewerLoopDelayP99Ms: number;
  /** The machine's 1-minute load average at the end of the window (2 = both cores busy): other work on a shared machine shows here. */
  loadAverage: number;
  /**
   * Viewers the relay disconnected, in s since the window started (negative: before it), from its
   * `viewer disconnected` log lines. Only a frozen viewer should be here: the relay cuts stalled ones.
   */
  relayDisconnectsAtSeconds: number[];
  /** Kept in memory for the pooled distribution, the plot and the floors; left out of the JSON. */
  samples: { captureToDecoded: number[]; captureToClient: number[]; frame?: Buffer };
}

const OPEN_TIMEOUT_MS = 15_000;
const FIRST_FRAME_TIMEOUT_MS = 30_000;

/** Mean of the publisher's per-interval timing averages logged inside the window, weighted by frames. */
function publisherTiming(publishers: ServiceProcess[], field: 'grabToOfferMs' | 'encodeMs', from: number, to: number): number | undefined {
  let weighted = 0;
  let frames = 0;
  for (const publisher of publishers) {
    for (const line of publisher.lines) {
      if (line.msg !== 'pipeline stats' || typeof line.time !== 'number') continue;
      // A line covers the interval before it; only intervals wholly inside the window count.
      if (line.time < from + PUBLISHER_STATS_INTERVAL_S * 1000 || line.time > to + 200) continue;
      const value = line[field];
      const count = line.frames;
      if (typeof value === 'number' && typeof count === 'number' && count > 0) {
        weighted += value * count;
        frames += count;
      }
    }
  }
  return frames > 0 ? weighted / frames : undefined;
}

function sumCost(costs: ProcessCost[]): ProcessCost {
  const cores = costs.every((c) => c.cores !== undefined) ? costs.reduce((s, c) => s + c.cores!, 0) : undefined;
  const rss = costs.every((c) => c.peakRssMiB !== undefined) ? Math.max(...costs.map((c) => c.peakRssMiB!)) : undefined;
  return { ...(cores !== undefined ? { cores } : {}), ...(rss !== undefined ? { peakRssMiB: rss } : {}) };
}

interface Fleets {
  all: ViewerFleet[];
  request(request: Parameters<ViewerFleet['request']>[0], timeoutMs: number): Promise<FleetReply[]>;
}

/**
 * Each decoding viewer in a process of its own, as each browser decodes on its own: decodes are
 * not queued behind 100 sockets, and no two imdecodeAsync calls run at once in one process (two
 * concurrent ones crashed V8's GC in this OpenCV binding: "Check failed: marking_done_").
 * The other viewers (sequence-checking and frozen) share one process. A crash is one failed run.
 */
function startFleets(benchCase: BenchCase): Fleets {
  const groups: Array<{ label: string; kinds: ViewerKind[] }> = [
    ...Array.from({ length: benchCase.decoders }, (_, i) => ({ label: `decoding viewer ${i + 1}`, kinds: ['decode'] as ViewerKind[] })),
    {
      label: 'viewers',
      kinds: [
        ...Array<ViewerKind>(benchCase.viewers - benchCase.decoders).fill('seq'),
        ...Array<ViewerKind>(benchCase.frozen).fill('frozen'),
      ],
    },
  ].filter((g) => g.kinds.length > 0);
  const fleets = groups.map((g) => ({ fleet: ViewerFleet.start(g.label), kinds: g.kinds }));
  return {
    all: fleets.map((f) => f.fleet),
    request: async (request, timeoutMs) => {
      let firstId = 0;
      return await Promise.all(
        fleets.map((f) => {
          const forThis = request.type === 'open' ? { ...request, kinds: f.kinds, firstId } : request;
          firstId += f.kinds.length;
          return f.fleet.request(forThis, timeoutMs);
        }),
      );
    },
  };
}

export async function runCase(
  benchCase: BenchCase,
  run: number,
  timing: Timing,
  options: StackOptions,
  cameraIds: readonly string[],
): Promise<RunResult> {
  const cameras = cameraIds.slice(0, benchCase.cameras);
  const fleets = startFleets(benchCase);
  let stack: Awaited<ReturnType<typeof startBenchStack>> | undefined;
  let probe: FrameProbe | undefined;
  try {
    stack = await startBenchStack(benchCase, cameras, options);
    probe = await FrameProbe.start(stack.broker, TOPIC_PREFIX);
    const url = `ws://127.0.0.1:${stack.webPort}/ws`;
    await fleets.request(
      { type: 'open', url, kinds: [], firstId: 0, timeoutMs: OPEN_TIMEOUT_MS, stamped: stamped(benchCase) },
      OPEN_TIMEOUT_MS + 20_000,
    );
    try {
      await fleets.request({ type: 'first-frame', timeoutMs: FIRST_FRAME_TIMEOUT_MS }, FIRST_FRAME_TIMEOUT_MS + 2000);
    } catch (error) {
      throw new Error(`${(error as Error).message} (${benchCase.id})\n${stack.publishers[0]?.describe() ?? ''}\n${stack.relay.describe()}`);
    }
    await sleep(timing.warmupSeconds * 1000);

    const brokerCpu = new CpuWindow(stack.broker.process.pid);
    const relayCpu = new CpuWindow(stack.relay.pid);
    // With its capture helper, which reads, decodes and encodes a camera's frames.
    const publisherCpu = stack.publishers.map((p) => new CpuWindow(p.pid, true));
    const viewerCpu = fleets.all.map((f) => new CpuWindow(f.process.pid));
    await fleets.request({ type: 'measure', on: true }, 5000);
    probe.measuring = true;
    const windowStart = nowMs();
    await sleep(timing.measureSeconds * 1000);
    const windowEnd = nowMs();
    probe.measuring = false;
    await fleets.request({ type: 'measure', on: false }, 5000);
    const windowSeconds = (windowEnd - windowStart) / 1000;
    const cost = {
      broker: brokerCpu.finish(),
      relay: relayCpu.finish(),
      publisher: sumCost(publisherCpu.map((w) => w.finish())),
      viewers: sumCost(viewerCpu.map((w) => w.finish())),
    };
    // Let decodes still in flight finish (they stopped recording with the window).
    await sleep(100);
    const replies = await fleets.request({ type: 'collect' }, 20_000);
    const collected = replies.flatMap((r) => (r.type === 'collected' ? [r] : []));
    const live: CollectedViewer[] = collected.flatMap((r) => r.viewers).filter((v) => v.kind !== 'frozen');

    const fps: number[] = [];
    let lostTotal = 0;
    let lostMax = 0;
    let viewerBytes = 0;
    for (const viewer of live) {
      const tallies = new Map(viewer.tallies);
      let lost = 0;
      for (const camera of cameras) {
        const tally = tallies.get(camera);
        fps.push((tally?.frames ?? 0) / windowSeconds);
        lost += tally?.lost ?? 0;
        viewerBytes += tally?.bytes ?? 0;
      }
      lostTotal += lost;
      lostMax = Math.max(lostMax, lost);
    }
    fps.sort((a, b) => a - b);
    let probeFrames = 0;
    let probeBytes = 0;
    let probeLost = 0;
    for (const tally of probe.tallies.values()) {
      probeFrames += tally.frames;
      probeBytes += tally.bytes;
      probeLost += tally.lost;
    }
    const pool = (pick: (v: CollectedViewer) => number[]): number[] => live.flatMap(pick);
    const decoded = pool((v) => v.captureToDecoded);
    const atClient = pool((v) => v.captureToClient);
    return {
      caseId: benchCase.id,
      run,
      windowSeconds,
      captureToDecoded: distribution(decoded),
      captureToClient: distribution(atClient),
      captureToBroker: distribution(probe.captureToBroker),
      captureToRelay: distribution(pool((v) => v.captureToRelay)),
      relayToClient: distribution(pool((v) => v.relayToClient)),
      decodeMs: distribution(pool((v) => v.decodeMs)),
      cameraToGrab: distribution(pool((v) => v.cameraToGrab)),
      publisherGrabToOfferMs: publisherTiming(stack.publishers, 'grabToOfferMs', windowStart, windowEnd),
      publisherEncodeMs: publisherTiming(stack.publishers, 'encodeMs', windowStart, windowEnd),
      viewerFpsMin: fps[0] ?? 0,
      viewerFpsMedian: fps[Math.floor(fps.length / 2)] ?? 0,
      viewerLostTotal: lostTotal,
      viewerLostMax: lostMax,
      decodeSkipped: live.reduce((s, v) => s + v.decodeSkipped, 0),
      unstamped: live.reduce((s, v) => s + v.unstamped, 0),
      publishedFps: probeFrames / windowSeconds / cameras.length,
      publishedLost: probeLost,
      bytesPerFrame: probeFrames > 0 ? probeBytes / probeFrames : 0,
      cameraMbitPerSecond: (probeBytes * 8) / windowSeconds / 1e6 / cameras.length,
      relayEgressMbitPerSecond: (viewerBytes * 8) / windowSeconds / 1e6,
      cost,
      loadAverage: loadavg()[0] ?? 0,
      viewerLoopDelayP99Ms: Math.max(0, ...collected.map((r) => r.loopDelayP99Ms)),
      relayDisconnectsAtSeconds: stack.relay.lines
        .filter((l) => l.msg === 'viewer disconnected' && typeof l.time === 'number' && l.time <= windowEnd)
        .map((l) => ((l.time as number) - windowStart) / 1000),
      samples: { captureToDecoded: decoded, captureToClient: atClient, ...(probe.lastFrame ? { frame: probe.lastFrame } : {}) },
    };
  } finally {
    await Promise.all(fleets.all.map((f) => f.stop()));
    await probe?.stop();
    await stack?.stop();
  }
}
