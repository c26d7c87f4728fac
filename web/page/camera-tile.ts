/**
 * One camera on the page: a canvas, the camera id, a status badge and an overlay with FPS,
 * end-to-end latency and kB/s.
 *
 * Decoding is newest-wins: one createImageBitmap at a time per tile, and a frame that arrives
 * meanwhile replaces the one waiting, so a slow device shows fewer frames but never falls behind.
 */
import { readFrameMeta } from '@camqtt/protocol/frame';
import { NewestWinsGate } from '@camqtt/protocol/newest-wins';
import type { ViewerEvent } from '@camqtt/protocol/viewer-wire';

/** From the wire module, so the page never pulls in the Node-side status schema. */
export type CameraStatus = Extract<ViewerEvent, { type: 'status' }>['status'];

/** No frame for this long and the camera counts as stalled. */
const STALLED_AFTER_MS = 3_000;
/** FPS and kB/s are averaged over the frames that arrived this recently. */
const RATE_WINDOW_MS = 2_000;

export type TileState = 'live' | 'stalled' | 'offline';

interface Arrival {
  at: number;
  bytes: number;
}

export class CameraTile {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly context: CanvasRenderingContext2D;
  private readonly badge: HTMLElement;
  private readonly fps: HTMLElement;
  private readonly latency: HTMLElement;
  private readonly kbps: HTMLElement;
  private status: CameraStatus | undefined;
  private readonly arrivals: Arrival[] = [];
  private firstArrivalAt: number | undefined;
  /** One decode at a time; a frame arriving meanwhile replaces the one waiting. */
  private readonly decoder = new NewestWinsGate<Uint8Array>((payload, done) => void this.decode(payload).finally(done));
  decodeErrors = 0;

  constructor(readonly camera: string) {
    this.element = document.createElement('article');
    this.element.className = 'tile';
    this.element.dataset.camera = camera;

    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('aria-label', `Live video of ${camera}`);
    const context = this.canvas.getContext('2d');
    if (!context) throw new Error('this browser has no 2D canvas');
    this.context = context;

    const overlay = element('div', 'overlay');
    this.fps = stat(overlay, 'fps', '0 fps');
    this.latency = stat(overlay, 'latency', '—');
    this.kbps = stat(overlay, 'kbps', '0 kB/s');

    const head = element('div', 'tile-head');
    const name = element('span', 'camera-id');
    name.dataset.role = 'camera-id';
    name.textContent = camera;
    this.badge = element('span', 'badge');
    this.badge.dataset.role = 'badge';
    head.append(name, this.badge);

    this.element.append(this.canvas, overlay, head);
    this.refresh(Date.now());
  }

  setStatus(status: CameraStatus): void {
    this.status = status;
    this.refresh(Date.now());
  }

  /** A frame payload (JPEG) arrived from the relay. */
  offerFrame(payload: Uint8Array): void {
    const now = Date.now();
    this.arrivals.push({ at: now, bytes: payload.length });
    this.firstArrivalAt ??= now;
    this.decoder.offer(payload);
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
    // Until a full window has passed, divide by the time actually observed.
    const span = Math.min(RATE_WINDOW_MS, this.firstArrivalAt === undefined ? RATE_WINDOW_MS : Math.max(now - this.firstArrivalAt, 250));
    const frames = this.arrivals.length;
    const bytes = this.arrivals.reduce((sum, arrival) => sum + arrival.bytes, 0);
    this.fps.textContent = `${((frames * 1000) / span).toFixed(1)} fps`;
    this.kbps.textContent = `${(bytes / span).toFixed(1)} kB/s`;
    this.element.title = this.status?.error ? `${this.camera}: ${this.status.error}` : `${this.camera}: ${this.decoder.replaced} frames skipped while decoding`;
  }

  private state(now: number): TileState {
    const last = this.arrivals.at(-1)?.at;
    if (last !== undefined && now - last <= STALLED_AFTER_MS) return 'live';
    if (this.status && !this.status.online) return 'offline';
    return 'stalled';
  }

  private async decode(payload: Uint8Array): Promise<void> {
    try {
      const bitmap = await createImageBitmap(new Blob([payload as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }));
      this.draw(bitmap, payload);
    } catch {
      // A corrupt JPEG costs one frame; the next one decodes on its own.
      this.decodeErrors += 1;
    }
  }

  private draw(bitmap: ImageBitmap, payload: Uint8Array): void {
    if (this.canvas.width !== bitmap.width || this.canvas.height !== bitmap.height) {
      this.canvas.width = bitmap.width;
      this.canvas.height = bitmap.height;
      this.canvas.dataset.sized = '';
    }
    try {
      this.context.drawImage(bitmap, 0, 0);
    } finally {
      bitmap.close();
    }
    // End to end: from the capture on the camera host to the moment it is on screen here.
    const meta = readFrameMeta(payload);
    this.latency.textContent = meta ? `${Math.round(Date.now() - meta.captureTime)} ms` : '—';
  }
}

function element(tag: string, className: string): HTMLElement {
  const node = document.createElement(tag);
  node.className = className;
  return node;
}

function stat(parent: HTMLElement, name: string, initial: string): HTMLElement {
  const node = document.createElement('span');
  node.dataset.stat = name;
  node.textContent = initial;
  parent.append(node);
  return node;
}
