/**
 * A WebSocket viewer of the relay as the page behaves on a broken link: it reconnects by itself
 * (after 250 ms, then doubling to 2 s; the page starts at 0.5 s), here through a balancer to
 * whichever relay is up. It records each frame's camera, seq and arrival time, and the camera
 * statuses the relay announces, so a test can see gaps and what a user's tile would say.
 */
import WebSocket from 'ws';
import { decodeViewerFrame, readFrameMeta, type CameraStatus, type ViewerEvent } from '@camqtt/wire';

export interface ViewedFrame {
  camera: string;
  seq: number;
  /** Arrival, Date.now(). */
  at: number;
  /** The capture time the camera stamped (epoch ms). */
  captureTime: number;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 2000;

export class ReconnectingViewer {
  readonly frames: ViewedFrame[] = [];
  readonly statuses = new Map<string, CameraStatus>();
  /** Connections opened so far. */
  opens = 0;
  private socket: WebSocket | undefined;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** `select`: the cameras to watch (the page's `select` request); all of them when absent. */
  constructor(
    private readonly url: string,
    private readonly select?: string[],
  ) {}

  start(): void {
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.on('open', () => {
      this.opens += 1;
      this.retryMs = FIRST_RETRY_MS;
      if (this.select) socket.send(JSON.stringify({ type: 'select', cameras: this.select }));
    });
    socket.on('message', (data, isBinary) => (isBinary ? this.onFrame(data as Buffer) : this.onEvent((data as Buffer).toString())));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.stopped) return;
      this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    });
  }

  private onFrame(data: Buffer): void {
    const frame = decodeViewerFrame(new Uint8Array(data));
    const meta = frame && readFrameMeta(frame.payload);
    if (!frame || !meta) return;
    this.frames.push({ camera: frame.camera, seq: meta.seq, at: Date.now(), captureTime: meta.captureTime });
  }

  private onEvent(text: string): void {
    const event = JSON.parse(text) as ViewerEvent;
    if (event.type === 'hello') for (const status of event.cameras) this.statuses.set(status.camera, status);
    if (event.type === 'status') this.statuses.set(event.status.camera, event.status);
    if (event.type === 'removed') this.statuses.delete(event.camera);
  }

  /** Frames of `camera` that arrived after `since` (Date.now()). */
  framesSince(camera: string, since: number): ViewedFrame[] {
    return this.frames.filter((frame) => frame.camera === camera && frame.at > since);
  }

  /** The longest time without a frame of `camera` between `from` and `to`: the outage a user saw. */
  longestGap(camera: string, from: number, to: number): number {
    let last = from;
    let longest = 0;
    for (const frame of this.frames) {
      if (frame.camera !== camera || frame.at < from || frame.at > to) continue;
      longest = Math.max(longest, frame.at - last);
      last = frame.at;
    }
    return Math.max(longest, to - last);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.socket?.terminate();
  }
}
