/**
 * The bench's viewers: ws clients of the relay's /ws, as the page is. A `seq` viewer only reads
 * the frame metadata (camera, seq, captureTime) from the JPEG comment; a `decode` viewer also
 * decodes, one frame at a time with the newest waiting frame next, as the page does; a `frozen`
 * viewer stops reading its socket once connected (a stalled browser tab).
 */
import WebSocket from 'ws';
import { decodeViewerFrame, readFrameMeta } from '@camqtt/wire';
import { readFrameStamp } from '@camqtt/test-support';
import { nowMs } from './clock.js';
import { cv } from './opencv.js';

export type ViewerKind = 'seq' | 'decode' | 'frozen';

/** What one viewer saw of one camera inside the measurement window. */
export interface ViewerCameraTally {
  frames: number;
  /** Frames missing between consecutive sequence numbers received. */
  lost: number;
  bytes: number;
  lastSeq: number | undefined;
}

interface PendingDecode {
  payload: Uint8Array;
  captureTime: number;
}

export class BenchViewer {
  readonly tallies = new Map<string, ViewerCameraTally>();
  /** Per frame, ms: capture -> this client has the message. */
  readonly captureToClient: number[] = [];
  /** Per frame, ms: the relay's receivedAt -> this client has the message. */
  readonly relayToClient: number[] = [];
  /** Per frame, ms: capture -> the relay's receivedAt (capture, encode, publish, broker hop). */
  readonly captureToRelay: number[] = [];
  /**
   * Decode viewers only, per decoded frame: capture -> decoded image in hand. With a stamped camera
   * "capture" is the send time in the picture (camera encode, network, the publisher's decode,
   * resize and encode all count); otherwise the publisher's capture time.
   */
  readonly captureToDecoded: number[] = [];
  readonly decodeMs: number[] = [];
  /** Stamped cameras, per decoded frame: the camera's send time -> the publisher's read (camera encode, network, capture). */
  readonly cameraToGrab: number[] = [];
  /** Frames a decode viewer received but skipped because a newer one came while it was decoding. */
  decodeSkipped = 0;
  /** Stamped cameras: decoded frames without a readable stamp (then not timed). */
  unstamped = 0;
  measuring = false;
  private decoding = false;
  private pendingDecode: PendingDecode | undefined;
  private firstFrameResolve: (() => void) | undefined;
  readonly firstFrame: Promise<void>;
  private readonly socket: WebSocket;

  constructor(
    readonly id: number,
    readonly kind: ViewerKind,
    url: string,
    private readonly stamped = false,
  ) {
    this.firstFrame = new Promise((resolve) => {
      this.firstFrameResolve = resolve;
    });
    this.socket = new WebSocket(url, { perMessageDeflate: false });
    this.socket.on('error', () => {}); // close follows; the tallies tell the story
    if (kind === 'frozen') {
      // Stop reading at once: the relay's writes fill the kernel buffers and then stall.
      this.socket.once('open', () => this.socket.pause());
      this.firstFrameResolve?.();
      return;
    }
    this.socket.on('message', (data, isBinary) => {
      if (isBinary) this.onFrame(data as Buffer);
    });
  }

  /** Resolves when the socket is open; rejects after `timeoutMs`. */
  async opened(timeoutMs: number): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`viewer ${this.id}: WebSocket not open after ${timeoutMs} ms`)), timeoutMs);
      this.socket.once('open', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.once('close', () => {
        clearTimeout(timer);
        reject(new Error(`viewer ${this.id}: WebSocket closed before opening`));
      });
    });
  }

  private onFrame(message: Buffer): void {
    const arrivedAt = nowMs();
    const frame = decodeViewerFrame(message);
    if (!frame) return;
    const meta = readFrameMeta(frame.payload);
    if (!meta) return;
    this.firstFrameResolve?.();
    this.firstFrameResolve = undefined;
    if (!this.measuring) {
      // Outside the window only the sequence is followed, so the first measured frame is not a "gap".
      this.tally(frame.camera).lastSeq = meta.seq;
      return;
    }
    const tally = this.tally(frame.camera);
    if (tally.lastSeq !== undefined && meta.seq > tally.lastSeq + 1) tally.lost += meta.seq - tally.lastSeq - 1;
    tally.lastSeq = meta.seq;
    tally.frames += 1;
    tally.bytes += frame.payload.length;
    this.captureToClient.push(arrivedAt - meta.captureTime);
    this.relayToClient.push(arrivedAt - frame.receivedAt);
    this.captureToRelay.push(frame.receivedAt - meta.captureTime);
    if (this.kind === 'decode') this.offerDecode({ payload: frame.payload, captureTime: meta.captureTime });
  }

  private tally(camera: string): ViewerCameraTally {
    let tally = this.tallies.get(camera);
    if (!tally) {
      tally = { frames: 0, lost: 0, bytes: 0, lastSeq: undefined };
      this.tallies.set(camera, tally);
    }
    return tally;
  }

  private offerDecode(pending: PendingDecode): void {
    if (this.decoding) {
      if (this.pendingDecode) this.decodeSkipped += 1;
      this.pendingDecode = pending;
      return;
    }
    void this.decodeLoop(pending);
  }

  /** Decodes one frame at a time; a frame that arrived meanwhile goes next, older ones are skipped. */
  private async decodeLoop(first: PendingDecode): Promise<void> {
    this.decoding = true;
    let next: PendingDecode | undefined = first;
    while (next) {
      const started = nowMs();
      const { payload, captureTime } = next;
      try {
        const image = await cv.imdecodeAsync(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
        const decodedAt = nowMs();
        const from = this.stamped ? readFrameStamp((x, y) => green(image.atRaw(y, x)), image.cols, decodedAt) : captureTime;
        // Freed at once so the next decode reuses the memory, as a browser reuses its bitmaps;
        // left to V8's GC, every decode faults in fresh pages (several ms per frame here).
        image.release();
        if (this.measuring && from === undefined) this.unstamped += 1;
        else if (this.measuring && from !== undefined) {
          this.captureToDecoded.push(decodedAt - from);
          if (this.stamped) this.cameraToGrab.push(captureTime - from);
          this.decodeMs.push(decodedAt - started);
        }
      } catch {
        // A frame OpenCV cannot decode counts as not decoded; the sequence check still saw it.
      }
      next = this.pendingDecode;
      this.pendingDecode = undefined;
    }
    this.decoding = false;
  }

  /** False once either side closed (the relay terminates a viewer stalled too long). */
  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  close(): void {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.terminate();
  }
}

/** A pixel's green value (BGR), as its brightness for the stamp's black and white blocks. */
function green(pixel: number | number[]): number {
  return Array.isArray(pixel) ? (pixel[1] ?? 0) : pixel;
}
