/**
 * One camera on the page: a canvas, and under it (never over the picture, whose top-left often
 * carries the camera's own caption) a bar with the camera id, a status badge, FPS, end-to-end
 * latency, kB/s and frames lost.
 *
 * Decoding is newest-wins: one decode at a time per tile, and a frame that arrives meanwhile
 * replaces the one waiting, so a slow device shows fewer frames but never falls behind.
 */
import { readFrameMeta } from '@camqtt/wire';
import { NewestWinsGate } from '@camqtt/wire';
import type { MotionEvent, RecordingStatus, ViewerEvent } from '@camqtt/wire';
import type { ClockOffset } from './clock-offset.js';
import { decodeJpeg, type DecoderKind } from './frame-decoder.js';
import { element } from './dom.js';

/** From the wire module, so the page never pulls in the Node-side status schema. */
export type CameraStatus = Extract<ViewerEvent, { type: 'hello' }>['cameras'][number];

/** No frame for this long and the camera counts as stalled. */
const STALLED_AFTER_MS = 3_000;
/** FPS and kB/s are averaged over the frames that arrived this recently. */
const RATE_WINDOW_MS = 2_000;

export type TileState = 'live' | 'stalled' | 'offline';

const RECORDER_LABELS: Record<RecordingStatus['state'], string> = {
  recording: '● rec',
  waiting: 'rec on motion',
  off: '',
  'disk-full': 'disk full',
  error: 'rec error',
};
/**
 * The recorder repeats its state every 10 s; one not heard from in this long was killed or lost
 * its broker (a clean stop says `off`), so "● rec" would be a lie.
 */
const RECORDER_SILENT_MS = 60_000;

interface Arrival {
  at: number;
  bytes: number;
}

interface PendingFrame {
  payload: Uint8Array;
  captureTime: number | undefined;
}

export class CameraTile {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly context: CanvasRenderingContext2D;
  private readonly badge: HTMLElement;
  /** Shown while the recorder's last motion event for this camera is a start. */
  private readonly motionBadge: HTMLElement;
  /** The recorder's state: rec, waiting for motion, disk full, error. */
  private readonly recorderBadge: HTMLElement;
  recorder: RecordingStatus | undefined;
  motion: MotionEvent | undefined;
  private readonly stats: Record<'fps' | 'latency' | 'kbps' | 'lost', HTMLElement>;
  /** Why the camera shows nothing: its source's error, or the last one it had before going offline. */
  private readonly problem: HTMLElement;
  private lastError: string | undefined;
  status: CameraStatus | undefined;
  private readonly arrivals: Arrival[] = [];
  private firstArrivalAt: number | undefined;
  private lastSeq: number | undefined;
  private lost = 0;
  /** One decode at a time; a frame arriving meanwhile replaces the one waiting. */
  private readonly decoder = new NewestWinsGate<PendingFrame>((frame, done) => void this.decode(frame).finally(done));
  decodeErrors = 0;

  constructor(
    readonly camera: string,
    private readonly clock: ClockOffset,
    private readonly decoderKind: DecoderKind,
  ) {
    this.element = document.createElement('article');
    this.element.className = 'tile';
    this.element.dataset.camera = camera;
    this.element.tabIndex = 0;

    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('aria-label', `Live video of ${camera}`);
    const context = this.canvas.getContext('2d');
    if (!context) throw new Error('this browser has no 2D canvas');
    this.context = context;

    const bar = element('div', 'tile-bar');
    const name = element('span', 'camera-id');
    name.dataset.role = 'camera-id';
    name.textContent = camera;
    this.badge = element('span', 'badge');
    this.badge.dataset.role = 'badge';
    const stats = element('span', 'stats');
    this.stats = {
      fps: stat(stats, 'fps', '0 fps', 'frames per second received'),
      latency: stat(stats, 'latency', '—', 'end to end: capture on the camera to drawn here'),
      kbps: stat(stats, 'kbps', '0 kB/s', 'received'),
      lost: stat(stats, 'lost', '0 lost', 'frames missing from the sequence (dropped on the way)'),
    };
    this.motionBadge = element('span', 'badge motion');
    this.motionBadge.dataset.role = 'motion';
    this.motionBadge.textContent = 'motion';
    this.motionBadge.hidden = true;
    this.recorderBadge = element('span', 'recorder');
    this.recorderBadge.dataset.role = 'recorder';
    this.recorderBadge.hidden = true;
    bar.append(name, this.badge, this.motionBadge, this.recorderBadge, stats);
    this.problem = element('p', 'tile-problem');
    this.problem.dataset.role = 'problem';
    this.problem.hidden = true;

    this.element.append(this.canvas, bar, this.problem);
    this.refresh(Date.now());
  }

  setStatus(status: CameraStatus): void {
    this.status = status;
    // The last will says only "offline"; the error the camera reported before stays worth showing.
    if (status.error) this.lastError = status.error;
    else if (status.online) this.lastError = undefined;
    this.refresh(Date.now());
  }

  /** The recorder's last motion event for this camera (undefined: none, or cleared). */
  setMotion(event: MotionEvent | undefined): void {
    this.motion = event;
    const moving = event?.state === 'start';
    this.motionBadge.hidden = !moving;
    this.element.dataset.motion = moving ? 'yes' : 'no';
    if (event)
      this.motionBadge.title = `motion since ${new Date(event.start).toLocaleTimeString()}, ${Math.round(event.score * 100)}% of the picture`;
  }

  /** The recorder's state for this camera (undefined: no recorder reports on it). */
  setRecorder(status: RecordingStatus | undefined): void {
    this.recorder = status;
    this.showRecorder(Date.now());
  }

  private showRecorder(now: number): void {
    const status = this.recorder;
    const badge = this.recorderBadge;
    badge.hidden = status === undefined || status.state === 'off';
    if (!status) return;
    const silent = now - status.updatedAt > RECORDER_SILENT_MS;
    const state = silent ? 'silent' : status.state;
    const text = silent ? 'rec ?' : RECORDER_LABELS[status.state];
    const title = silent
      ? `recorder: not heard from since ${new Date(status.updatedAt).toLocaleTimeString()}`
      : status.lastError
        ? `recorder: ${status.lastError}`
        : `recorder: ${status.state} (${status.mode}, ${status.format})`;
    if (badge.dataset.state !== state) badge.dataset.state = state;
    if (badge.textContent !== text) badge.textContent = text;
    if (badge.title !== title) badge.title = title;
  }

  /** A frame payload (JPEG) arrived from the relay. */
  offerFrame(payload: Uint8Array, receivedAt: number): void {
    const now = Date.now();
    this.clock.sample(receivedAt, now);
    this.arrivals.push({ at: now, bytes: payload.length });
    this.firstArrivalAt ??= now;
    const meta = readFrameMeta(payload);
    if (meta) this.countGap(meta.seq);
    this.decoder.offer({ payload, captureTime: meta?.captureTime });
  }

  /**
   * Forget the last sequence number: after a pause in receiving (camera deselected, tab hidden,
   * reconnect) the next gap is not frames lost on the way.
   */
  resetSequence(): void {
    this.lastSeq = undefined;
  }

  /** Updates badge and rates; called on a timer so they decay when frames stop. */
  refresh(now: number): void {
    while (this.arrivals.length > 0 && now - this.arrivals[0]!.at > RATE_WINDOW_MS) this.arrivals.shift();
    const state = this.state(now);
    if (this.badge.dataset.state !== state) {
      this.badge.dataset.state = state;
      this.badge.textContent = state;
    }
    this.element.dataset.state = state;
    this.showRecorder(now);
    const problem = this.status?.error ?? (state === 'offline' && this.lastError ? `last error: ${this.lastError}` : '');
    if (this.problem.textContent !== problem) {
      this.problem.textContent = problem;
      this.problem.hidden = problem === '';
    }
    // Until a full window has passed, divide by the time actually observed.
    const span = Math.min(RATE_WINDOW_MS, this.firstArrivalAt === undefined ? RATE_WINDOW_MS : Math.max(now - this.firstArrivalAt, 250));
    const frames = this.arrivals.length;
    const bytes = this.arrivals.reduce((sum, arrival) => sum + arrival.bytes, 0);
    this.stats.fps.textContent = `${((frames * 1000) / span).toFixed(1)} fps`;
    this.stats.kbps.textContent = `${(bytes / span).toFixed(1)} kB/s`;
    this.stats.lost.textContent = `${this.lost} lost`;
    this.element.title = this.status?.error
      ? `${this.camera}: ${this.status.error}`
      : `${this.camera}: ${this.decoder.replaced} frames skipped while decoding`;
  }

  private countGap(seq: number): void {
    // A smaller number means the publisher restarted: start counting again.
    if (this.lastSeq !== undefined && seq > this.lastSeq + 1) this.lost += seq - this.lastSeq - 1;
    this.lastSeq = seq;
  }

  private state(now: number): TileState {
    const last = this.arrivals.at(-1)?.at;
    if (last !== undefined && now - last <= STALLED_AFTER_MS) return 'live';
    if (this.status && !this.status.online) return 'offline';
    return 'stalled';
  }

  private async decode(frame: PendingFrame): Promise<void> {
    try {
      const decoded = await decodeJpeg(this.decoderKind, frame.payload);
      try {
        this.draw(decoded.image, decoded.width, decoded.height);
      } finally {
        decoded.close();
      }
    } catch {
      // A corrupt JPEG costs one frame; the next one decodes on its own.
      this.decodeErrors += 1;
      return;
    }
    // End to end: from the capture on the camera host to the moment it is on screen here, with
    // "now" moved onto the relay's clock (the camera's clock is taken to agree with the relay's).
    this.stats.latency.textContent =
      frame.captureTime === undefined ? '—' : `${Math.round(this.clock.toRelayTime(Date.now()) - frame.captureTime)} ms`;
  }

  private draw(image: CanvasImageSource, width: number, height: number): void {
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
      this.canvas.dataset.sized = '';
      this.element.dispatchEvent(new CustomEvent('resized', { bubbles: true }));
    }
    this.context.drawImage(image, 0, 0);
  }
}

function stat(parent: HTMLElement, name: string, initial: string, title: string): HTMLElement {
  const node = document.createElement('span');
  node.dataset.stat = name;
  node.textContent = initial;
  node.title = title;
  parent.append(node);
  return node;
}
