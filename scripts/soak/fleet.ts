/**
 * A child process holding all the soak's viewers, driven over IPC (see fleet-client.ts): outside
 * the soak process, so that 60 busy sockets cannot delay the sampling and the fault schedule.
 * It churns them (one viewer leaves and a new one comes every second, some leaving without a
 * close), and keeps the ledger: frames per camera, sequence gaps with when they were seen, and
 * how long each live viewer took to get a fresh frame after each fault.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MjpegViewer, SoakViewer, WsViewer, type Behaviour, type Transport, type ViewerLedger } from './soak-viewers.js';

export type FleetRequest =
  | { type: 'start'; baseUrl: string; cameras: string[]; ws: number; mjpeg: number; churnPerSecond: number }
  /**
   * A fault ended at `at` (epoch ms): every normal viewer of `cameras` (connected or reconnecting,
   * as after a relay restart) waits for a frame captured after it.
   */
  | { type: 'mark'; at: number; fault: string; cameras: string[] }
  | { type: 'sample' }
  | { type: 'collect' };

/** Frames missing between two frames a normal viewer received; `at` is when the later one arrived. */
export interface Gap {
  at: number;
  camera: string;
  transport: Transport;
  lost: number;
}

/** ms from a fault's end to the viewer's first frame captured after it; null: none while it stayed. */
export interface Recovery {
  fault: string;
  at: number;
  camera: string;
  transport: Transport;
  ms: number | null;
  /** Retired by the churn before a fresh frame came: not counted either way. */
  churned: boolean;
}

export interface FleetSample {
  type: 'sample';
  /** Connected now, by transport and behaviour. */
  connected: Record<string, number>;
  /** Frames normal viewers received since the last sample, per camera, divided by its normal viewers and the seconds. */
  fpsPerViewer: Record<string, number>;
  loopDelayP99Ms: number;
}

export interface FleetCollected {
  type: 'collected';
  gaps: Gap[];
  recoveries: Recovery[];
  framesByCamera: Record<string, number>;
  churn: { retiredClean: number; retiredKilled: number; joined: number; reconnects: number; unselectedFrames: number };
}

export type FleetReply = { type: 'done' } | { type: 'error'; message: string } | FleetSample | FleetCollected;

/** Frames of other cameras this soon after a viewer connected are from before its `select` took effect. */
const SELECT_GRACE_MS = 1000;

interface PendingRecovery {
  recovery: Recovery;
  viewer: SoakViewer;
}

class Fleet implements ViewerLedger {
  private readonly viewers = new Set<SoakViewer>();
  private readonly gaps: Gap[] = [];
  private readonly recoveries: Recovery[] = [];
  private pending: PendingRecovery[] = [];
  private readonly framesTotal = new Map<string, number>();
  private framesSinceSample = new Map<string, number>();
  private lastSampleAt = performance.now();
  private readonly churn = { retiredClean: 0, retiredKilled: 0, joined: 0, reconnects: 0, unselectedFrames: 0 };
  private nextId = 1;
  private churnTimer: NodeJS.Timeout | undefined;
  readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });

  constructor(private readonly request: Extract<FleetRequest, { type: 'start' }>) {
    this.loopDelay.enable();
  }

  start(): void {
    const { ws, mjpeg, cameras } = this.request;
    const mix = (count: number, slow: number, frozen: number): Behaviour[] =>
      Array.from({ length: count }, (_, i) => (i < frozen ? 'frozen' : i < frozen + slow ? 'slow' : 'normal'));
    const tenth = (n: number): number => Math.max(n >= 5 ? 1 : 0, Math.round(n / 10));
    const wsMix = mix(ws, tenth(ws), tenth(ws));
    const mjpegMix = mix(mjpeg, mjpeg >= 2 ? 1 : 0, mjpeg >= 3 ? 1 : 0);
    wsMix.forEach((behaviour, i) => this.join('ws', behaviour, cameras[i % cameras.length]!));
    mjpegMix.forEach((behaviour, i) => this.join('mjpeg', behaviour, cameras[i % cameras.length]!));
    this.churn.joined = 0;
    if (this.request.churnPerSecond > 0) this.churnTimer = setInterval(() => this.churnOne(), 1000 / this.request.churnPerSecond);
  }

  stop(): void {
    clearInterval(this.churnTimer);
    for (const viewer of this.viewers) viewer.retire('kill');
  }

  private join(transport: Transport, behaviour: Behaviour, camera: string): void {
    const Kind = transport === 'ws' ? WsViewer : MjpegViewer;
    const viewer = new Kind(this.nextId++, transport, behaviour, camera, this.request.baseUrl, this);
    this.viewers.add(viewer);
    this.churn.joined += 1;
    viewer.start();
  }

  /** One viewer leaves (every third without a close handshake) and a new one of the same kind comes. */
  private churnOne(): void {
    const all = [...this.viewers];
    const leaving = all[Math.floor(Math.random() * all.length)];
    if (!leaving) return;
    const kill = (this.churn.retiredClean + this.churn.retiredKilled) % 3 === 2;
    leaving.retire(kill ? 'kill' : 'close');
    if (kill) this.churn.retiredKilled += 1;
    else this.churn.retiredClean += 1;
    this.viewers.delete(leaving);
    for (const p of this.pending) if (p.viewer === leaving) p.recovery.churned = true;
    this.pending = this.pending.filter((p) => p.viewer !== leaving);
    this.join(leaving.transport, leaving.behaviour, leaving.camera);
  }

  frame(viewer: SoakViewer, camera: string, seq: number, captureTime: number, arrivedAt: number): void {
    if (viewer.behaviour !== 'normal') return;
    if (camera !== viewer.camera) {
      // Before its `select` arrives the relay sends a page every camera; after, none but its own.
      if (viewer.connectedFor(arrivedAt) > SELECT_GRACE_MS) this.churn.unselectedFrames += 1;
      return;
    }
    if (viewer.lastSeq !== undefined && seq > viewer.lastSeq + 1)
      this.gaps.push({ at: arrivedAt, camera, transport: viewer.transport, lost: seq - viewer.lastSeq - 1 });
    viewer.lastSeq = seq;
    this.framesTotal.set(camera, (this.framesTotal.get(camera) ?? 0) + 1);
    this.framesSinceSample.set(camera, (this.framesSinceSample.get(camera) ?? 0) + 1);
    if (this.pending.length === 0) return;
    this.pending = this.pending.filter((p) => {
      if (p.viewer !== viewer || captureTime < p.recovery.at) return true;
      p.recovery.ms = arrivedAt - p.recovery.at;
      return false;
    });
  }

  disconnected(viewer: SoakViewer): void {
    if (!viewer.retired) this.churn.reconnects += 1;
  }

  mark(at: number, fault: string, cameras: string[]): void {
    for (const viewer of this.viewers) {
      if (viewer.behaviour !== 'normal' || !cameras.includes(viewer.camera)) continue;
      const recovery: Recovery = { fault, at, camera: viewer.camera, transport: viewer.transport, ms: null, churned: false };
      this.recoveries.push(recovery);
      this.pending.push({ recovery, viewer });
    }
  }

  sample(): FleetSample {
    const seconds = (performance.now() - this.lastSampleAt) / 1000;
    this.lastSampleAt = performance.now();
    const connected: Record<string, number> = {};
    const normalViewers = new Map<string, number>();
    for (const viewer of this.viewers) {
      if (!viewer.connected) continue;
      const key = `${viewer.transport} ${viewer.behaviour}`;
      connected[key] = (connected[key] ?? 0) + 1;
      if (viewer.behaviour === 'normal') normalViewers.set(viewer.camera, (normalViewers.get(viewer.camera) ?? 0) + 1);
    }
    const fpsPerViewer: Record<string, number> = {};
    for (const camera of this.request.cameras) {
      const viewers = normalViewers.get(camera) ?? 0;
      fpsPerViewer[camera] = viewers > 0 && seconds > 0 ? (this.framesSinceSample.get(camera) ?? 0) / viewers / seconds : 0;
    }
    this.framesSinceSample = new Map();
    // The histogram includes the 10 ms sampling interval itself; what is left is the lateness.
    const loopDelayP99Ms = Math.max(0, this.loopDelay.percentile(99) / 1e6 - 10);
    this.loopDelay.reset();
    return { type: 'sample', connected, fpsPerViewer, loopDelayP99Ms };
  }

  collect(): FleetCollected {
    return {
      type: 'collected',
      gaps: this.gaps,
      recoveries: this.recoveries,
      framesByCamera: Object.fromEntries(this.framesTotal),
      churn: { ...this.churn },
    };
  }
}

let fleet: Fleet | undefined;

function handle(request: FleetRequest): FleetReply {
  if (request.type === 'start') {
    fleet = new Fleet(request);
    fleet.start();
    return { type: 'done' };
  }
  if (!fleet) throw new Error(`"${request.type}" before "start"`);
  if (request.type === 'mark') {
    fleet.mark(request.at, request.fault, request.cameras);
    return { type: 'done' };
  }
  return request.type === 'sample' ? fleet.sample() : fleet.collect();
}

process.on('message', (request: FleetRequest) => {
  try {
    process.send?.(handle(request));
  } catch (error) {
    process.send?.({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
});
// The soak closing the IPC channel (or dying) ends the fleet.
process.on('disconnect', () => {
  fleet?.stop();
  process.exit(0);
});
