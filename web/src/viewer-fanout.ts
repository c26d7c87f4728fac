/**
 * Sends every frame to every viewer that selected its camera (all of them until it sends a
 * `select`) without letting a slow viewer cost anyone else anything.
 *
 * Per viewer and camera there is one NewestWinsGate: at most one frame of that camera is being
 * written to the viewer's socket, and at most one more waits; a newer frame replaces the waiting
 * one. A write is "done" when ws calls back (the bytes reached the kernel), so a viewer that does
 * not read stops completing writes and simply loses frames. The frame message is built once by
 * the caller and the same Buffer goes to every socket. A viewer whose writes make no progress for
 * the stall limit is terminated (stall-watchdog.ts), and so is one that stops answering pings.
 */
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { NewestWinsGate, parseViewerRequest, type ViewerEvent } from '@camqtt/wire';
import type { FrameSink, LatestFrame } from './frame-hub.js';
import type { RelayMetrics } from './relay-metrics.js';
import { StallWatchdog, WriteProgress } from './stall-watchdog.js';
import type { ViewerIdentity } from './viewer-identity.js';

/** Finds viewers whose TCP connection died silently (phone went to sleep, NAT dropped it). */
const HEARTBEAT_INTERVAL_MS = 15_000;
/**
 * The gates bound frames to one in flight per camera, but events and error replies bypass them; if
 * that much is still unsent, skip frames rather than add to it.
 */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** How long stop() lets viewers answer the close handshake before cutting them off. */
const CLOSE_GRACE_MS = 1_000;

interface QueuedFrame {
  camera: string;
  message: Buffer;
}

class Viewer {
  private readonly gates = new Map<string, NewestWinsGate<QueuedFrame>>();
  /** The cameras this viewer wants frames of; undefined means every camera. */
  selection: ReadonlySet<string> | undefined;
  readonly progress = new WriteProgress();
  /** Cleared when a ping goes out, set again by the pong. */
  answeredPing = true;

  constructor(
    readonly id: number,
    readonly socket: WebSocket,
    readonly identity: ViewerIdentity,
    private readonly metrics: RelayMetrics,
  ) {}

  wants(camera: string): boolean {
    return this.selection === undefined || this.selection.has(camera);
  }

  offerFrame(camera: string, message: Buffer): void {
    let gate = this.gates.get(camera);
    if (!gate) {
      gate = new NewestWinsGate<QueuedFrame>((frame, done) => this.deliverFrame(frame, done));
      this.gates.set(camera, gate);
    }
    const replacedBefore = gate.replaced;
    gate.offer({ camera, message });
    if (gate.replaced !== replacedBefore) this.metrics.camera(camera).dropped('replaced', 'ws');
  }

  sendText(text: string): void {
    this.write(text, () => {});
  }

  forgetCamera(camera: string, reason: 'camera_removed' | 'replaced'): void {
    if (this.gates.get(camera)?.dropPending()) this.metrics.camera(camera).dropped(reason, 'ws');
    this.gates.delete(camera);
  }

  private deliverFrame({ camera, message }: QueuedFrame, done: () => void): void {
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.metrics.camera(camera).dropped('socket_full', 'ws');
      done();
      return;
    }
    this.metrics.camera(camera).sent('ws', message.length);
    this.write(message, done);
  }

  private write(data: Buffer | string, done: () => void): void {
    if (this.socket.readyState !== WebSocket.OPEN) {
      done();
      return;
    }
    this.progress.started();
    this.socket.send(data, { binary: typeof data !== 'string' }, () => {
      this.progress.finished();
      done();
    });
  }
}

export interface ViewerFanoutOptions {
  log: Logger;
  metrics: RelayMetrics;
  /** The `hello` event a new viewer gets first (it says whether this viewer may control cameras). */
  greeting: (viewer: ViewerIdentity) => ViewerEvent;
  /** The newest frame of a camera, sent to a viewer as soon as it starts watching that camera. */
  latest: (camera: string) => LatestFrame | undefined;
  /** Every camera with a frame or a status, for a viewer that selects all of them. */
  cameras: () => Iterable<string>;
  /** How long a viewer's socket may take nothing before it is terminated; default STALL_LIMIT_MS. */
  stallLimitMs?: number;
  /** A viewer came, went or changed its selection (see `watched`). */
  onWatchChange?: () => void;
}

export class ViewerFanout implements FrameSink {
  private readonly viewers = new Set<Viewer>();
  private nextViewerId = 1;
  private readonly watchdog: StallWatchdog<Viewer>;
  private heartbeatTimer: NodeJS.Timeout | undefined;

  private readonly log: Logger;
  private readonly metrics: RelayMetrics;

  constructor(private readonly options: ViewerFanoutOptions) {
    this.log = options.log;
    this.metrics = options.metrics;
    this.watchdog = new StallWatchdog(
      () => this.viewers,
      (viewer, blockedMs) => this.terminateStalled(viewer, blockedMs),
      options.stallLimitMs,
    );
  }

  get size(): number {
    return this.viewers.size;
  }

  /** The cameras some viewer watches now: 'all' while one watches every camera. */
  watched(): ReadonlySet<string> | 'all' {
    const cameras = new Set<string>();
    for (const viewer of this.viewers) {
      if (viewer.selection === undefined) return 'all';
      for (const camera of viewer.selection) cameras.add(camera);
    }
    return cameras;
  }

  start(): void {
    this.watchdog.start();
    this.heartbeatTimer = setInterval(() => this.pingAll(), HEARTBEAT_INTERVAL_MS);
  }

  /** Closes every viewer (1001 going away) and gives the timers back. */
  async stop(): Promise<void> {
    this.watchdog.stop();
    clearInterval(this.heartbeatTimer);
    const closed = [...this.viewers].map(async (viewer) => {
      if (viewer.socket.readyState === WebSocket.CLOSED) return;
      const gone = new Promise<void>((resolve) => viewer.socket.once('close', () => resolve()));
      viewer.socket.close(1001, 'relay shutting down');
      const timer = setTimeout(() => viewer.socket.terminate(), CLOSE_GRACE_MS);
      await gone;
      clearTimeout(timer);
    });
    await Promise.all(closed);
  }

  /** Takes over an upgraded socket of a viewer let in as `identity`. */
  add(socket: WebSocket, remoteAddress: string | undefined, identity: ViewerIdentity): void {
    const viewer = new Viewer(this.nextViewerId++, socket, identity, this.metrics);
    this.viewers.add(viewer);
    this.metrics.viewers.set({ transport: 'ws' }, this.viewers.size);
    this.log.info({ viewer: viewer.id, user: identity.user, remoteAddress, viewers: this.viewers.size }, 'viewer connected');

    socket.on('message', (data, isBinary) => this.onViewerMessage(viewer, data, isBinary));
    socket.on('pong', () => {
      viewer.answeredPing = true;
    });
    socket.on('error', (error) => this.log.debug({ viewer: viewer.id, err: error }, 'viewer socket error'));
    socket.on('close', (code) => {
      this.viewers.delete(viewer);
      this.metrics.viewers.set({ transport: 'ws' }, this.viewers.size);
      this.log.info({ viewer: viewer.id, code, viewers: this.viewers.size }, 'viewer disconnected');
      this.options.onWatchChange?.();
    });
    viewer.sendText(JSON.stringify(this.options.greeting(identity)));
    // The newest picture of every camera right away: a paused or slow camera is not a black tile.
    for (const camera of this.options.cameras()) this.offerLatest(viewer, camera);
    this.options.onWatchChange?.();
  }

  /**
   * Closes the sockets of viewers whose account was removed or whose password changed: a session
   * is checked at the upgrade only, and an open socket would otherwise keep streaming for good.
   */
  closeRevoked(): void {
    for (const viewer of this.viewers) {
      if (viewer.identity.stillValid() || viewer.socket.readyState !== WebSocket.OPEN) continue;
      this.log.info({ viewer: viewer.id, user: viewer.identity.user }, 'viewer account removed or password changed, closing its socket');
      // 1008 policy violation: the page reconnects, is refused, and goes to the login form.
      viewer.socket.close(1008, 'log in again');
    }
  }

  /** `frame.message` is the encoded viewer frame, built once; every viewer is sent these same bytes. */
  deliverFrame(camera: string, frame: LatestFrame): void {
    for (const viewer of this.viewers) if (viewer.wants(camera)) viewer.offerFrame(camera, frame.message);
  }

  broadcast(event: ViewerEvent): void {
    const text = JSON.stringify(event);
    for (const viewer of this.viewers) viewer.sendText(text);
  }

  /** A removed camera's gates go too, so the per-viewer state only holds live cameras. */
  forgetCamera(camera: string): void {
    for (const viewer of this.viewers) viewer.forgetCamera(camera, 'camera_removed');
  }

  private offerLatest(viewer: Viewer, camera: string): void {
    const frame = this.options.latest(camera);
    if (frame) viewer.offerFrame(camera, frame.message);
  }

  /**
   * The one thing a browser says is which cameras it watches (`select`). Anything else is
   * answered with an error event so a confused client (or a person poking at it) learns why
   * nothing happens.
   */
  private onViewerMessage(viewer: Viewer, data: RawData, isBinary: boolean): void {
    const request = isBinary ? { error: 'binary messages are not accepted' } : parseViewerRequest(textOf(data));
    if (!('error' in request)) {
      this.select(viewer, request.cameras);
      return;
    }
    const message = request.error;
    this.log.debug({ viewer: viewer.id, reason: message }, 'rejected a viewer message');
    // A client that floods us with junk while not reading gets no more replies than fit.
    if (viewer.socket.bufferedAmount > MAX_BUFFERED_BYTES) return;
    viewer.sendText(JSON.stringify({ type: 'error', message } satisfies ViewerEvent));
  }

  private select(viewer: Viewer, cameras: string[] | '*'): void {
    const before = viewer.selection;
    const wasWatching = (camera: string): boolean => before === undefined || before.has(camera);
    viewer.selection = cameras === '*' ? undefined : new Set(cameras);
    const all = new Set(this.options.cameras());
    // A frame waiting for a camera the viewer left is not wanted any more.
    for (const camera of before ?? all) if (!viewer.wants(camera)) viewer.forgetCamera(camera, 'replaced');
    for (const camera of viewer.selection ?? all) if (!wasWatching(camera)) this.offerLatest(viewer, camera);
    this.log.debug({ viewer: viewer.id, cameras }, 'viewer selected cameras');
    this.options.onWatchChange?.();
  }

  private terminateStalled(viewer: Viewer, blockedMs: number): void {
    if (viewer.socket.readyState !== WebSocket.OPEN) return;
    this.log.warn(
      { viewer: viewer.id, blockedMs, bufferedBytes: viewer.socket.bufferedAmount },
      'viewer socket blocked too long, terminating it',
    );
    this.metrics.viewersTerminated.inc({ transport: 'ws' });
    viewer.socket.terminate();
  }

  private pingAll(): void {
    for (const viewer of this.viewers) {
      if (viewer.socket.readyState !== WebSocket.OPEN) continue;
      if (!viewer.answeredPing) {
        this.log.warn({ viewer: viewer.id }, 'viewer did not answer a ping, terminating it');
        this.metrics.viewersTerminated.inc({ transport: 'ws' });
        viewer.socket.terminate();
        continue;
      }
      viewer.answeredPing = false;
      viewer.socket.ping();
    }
  }
}

/** A text message as ws hands it over: one Buffer, unless the socket was set to another binaryType. */
function textOf(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}
