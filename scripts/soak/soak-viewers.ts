/**
 * The soak's viewers: a page on the relay's /ws, or an MJPEG client on /api/cameras/<id>/stream.mjpg,
 * each watching one camera and reconnecting as the page does (0.5 s, doubling to 5 s) until the
 * churn retires it. A `normal` viewer reads everything, a `slow` one pauses after every frame
 * (a weak phone), a `frozen` one stops reading once connected (a sleeping laptop's tab).
 * Written here rather than reusing the bench's BenchViewer: that one has no reconnect, no MJPEG
 * and no record of when a gap happened, which is what tells a fault's loss from any other.
 */
import http from 'node:http';
import WebSocket from 'ws';
import { decodeViewerFrame, readFrameMeta } from '@camqtt/wire';
import { nowMs } from '../bench/clock.js';

export type Transport = 'ws' | 'mjpeg';
export type Behaviour = 'normal' | 'slow' | 'frozen';

/** Where every viewer reports: frames, gaps in the sequence, and recoveries after a fault. */
export interface ViewerLedger {
  frame(viewer: SoakViewer, camera: string, seq: number, captureTime: number, arrivedAt: number): void;
  disconnected(viewer: SoakViewer): void;
}

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 5000;
/** How long a slow viewer stops reading after each frame: it takes about 5 fps. */
const SLOW_PAUSE_MS = 200;

export abstract class SoakViewer {
  retired = false;
  connected = false;
  lastSeq: number | undefined;
  private openedAt = 0;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  /** A reconnect is scheduled: a second end event of the same connection (error and close) is ignored. */
  private waiting = false;

  constructor(
    readonly id: number,
    readonly transport: Transport,
    readonly behaviour: Behaviour,
    readonly camera: string,
    protected readonly baseUrl: string,
    protected readonly ledger: ViewerLedger,
  ) {}

  start(): void {
    this.open();
  }

  private reopen(): void {
    this.waiting = false;
    this.open();
  }

  /** Leaves for good: 'close' as a page being closed does, 'kill' with the socket torn down, no close handshake. */
  retire(how: 'close' | 'kill'): void {
    this.retired = true;
    clearTimeout(this.retryTimer);
    this.shut(how);
  }

  protected abstract open(): void;
  protected abstract shut(how: 'close' | 'kill'): void;

  /** ms since this connection opened (epoch clock), for telling a late `select` from a wrong frame. */
  connectedFor(now: number): number {
    return now - this.openedAt;
  }

  protected onOpen(): void {
    this.openedAt = nowMs();
    this.connected = true;
    this.retryMs = FIRST_RETRY_MS;
  }

  protected onFrame(camera: string, payload: Uint8Array): void {
    const meta = readFrameMeta(payload);
    if (meta) this.ledger.frame(this, camera, meta.seq, meta.captureTime, nowMs());
  }

  /** The connection ended (either side): a retired viewer stays gone, any other comes back. */
  protected onClosed(): void {
    if (this.connected) this.ledger.disconnected(this);
    this.connected = false;
    if (this.retired || this.waiting) return;
    this.waiting = true;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.retryTimer = setTimeout(() => this.reopen(), delay);
  }
}

export class WsViewer extends SoakViewer {
  private socket: WebSocket | undefined;

  protected open(): void {
    const socket = new WebSocket(`${this.baseUrl.replace(/^http/, 'ws')}/ws`, { perMessageDeflate: false });
    this.socket = socket;
    socket.on('error', () => undefined); // 'close' follows and reconnects
    socket.on('close', () => this.onClosed());
    socket.once('open', () => {
      this.onOpen();
      if (this.behaviour === 'frozen') {
        socket.pause();
        return;
      }
      socket.send(JSON.stringify({ type: 'select', cameras: [this.camera] }));
    });
    socket.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const frame = decodeViewerFrame(data as Buffer);
      if (!frame) return;
      this.onFrame(frame.camera, frame.payload);
      if (this.behaviour === 'slow') {
        socket.pause();
        setTimeout(() => socket.resume(), SLOW_PAUSE_MS);
      }
    });
  }

  protected shut(how: 'close' | 'kill'): void {
    if (how === 'close') this.socket?.close(1001, 'page closed');
    // A socket destroyed under it: no close frame, the relay learns only from TCP or its pings.
    else this.socket?.terminate();
  }
}

const PART_HEADER_END = Buffer.from('\r\n\r\n');

export class MjpegViewer extends SoakViewer {
  private request: http.ClientRequest | undefined;
  private response: http.IncomingMessage | undefined;
  private buffered: Buffer = Buffer.alloc(0);

  protected open(): void {
    this.buffered = Buffer.alloc(0);
    const request = http.get(`${this.baseUrl}/api/cameras/${encodeURIComponent(this.camera)}/stream.mjpg`);
    this.request = request;
    request.on('error', () => this.onClosed());
    request.on('response', (response) => {
      this.response = response;
      if (response.statusCode !== 200) {
        response.resume();
        response.on('end', () => this.onClosed());
        return;
      }
      this.onOpen();
      response.on('close', () => this.onClosed());
      response.on('error', () => undefined);
      if (this.behaviour === 'frozen') {
        response.pause();
        return;
      }
      response.on('data', (chunk: Buffer) => this.onData(response, chunk));
    });
  }

  /** Multipart parts: a header with Content-Length, a blank line, that many JPEG bytes. */
  private onData(response: http.IncomingMessage, chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      const headerEnd = this.buffered.indexOf(PART_HEADER_END);
      if (headerEnd < 0) return;
      const length = /content-length:\s*(\d+)/i.exec(this.buffered.subarray(0, headerEnd).toString('latin1'));
      if (!length) {
        this.buffered = this.buffered.subarray(headerEnd + PART_HEADER_END.length);
        continue;
      }
      const start = headerEnd + PART_HEADER_END.length;
      const end = start + Number(length[1]);
      if (this.buffered.length < end) return;
      this.onFrame(this.camera, this.buffered.subarray(start, end));
      this.buffered = this.buffered.subarray(end);
      if (this.behaviour === 'slow') {
        response.pause();
        setTimeout(() => response.resume(), SLOW_PAUSE_MS);
      }
    }
  }

  protected shut(how: 'close' | 'kill'): void {
    if (how === 'kill') this.response?.socket.destroy();
    else this.request?.destroy();
  }
}
