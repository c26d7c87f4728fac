/**
 * GET /api/cameras/:id/stream.mjpg: multipart/x-mixed-replace, one JPEG part per frame, which VLC,
 * ffmpeg, Home Assistant's MJPEG camera and a plain `<img>` all play.
 *
 * The same rules as the WebSocket fan-out: one NewestWinsGate per client, so at most one frame is
 * being written and one waits (a newer one replaces it); a write is done when `res.write` calls
 * back; the JPEG bytes are the shared Buffer every viewer gets (only the ~60-byte part header is
 * per frame); a client whose writes make no progress for the stall limit is cut off (stall-watchdog.ts).
 */
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { NewestWinsGate } from '@camqtt/wire';
import type { FrameSink, LatestFrame } from './frame-hub.js';
import type { RelayMetrics } from './relay-metrics.js';
import { StallWatchdog, WriteProgress } from './stall-watchdog.js';
import type { ViewerIdentity } from './viewer-identity.js';

const BOUNDARY = 'camqttframe';

interface Part {
  header: Buffer;
  jpeg: Buffer;
}

class MjpegClient {
  readonly gate = new NewestWinsGate<Part>((part, done) => this.write(part, done));
  readonly progress = new WriteProgress();

  constructor(
    readonly id: number,
    readonly camera: string,
    readonly response: Response,
    readonly identity: ViewerIdentity,
    private readonly metrics: RelayMetrics,
  ) {}

  private write(part: Part, done: () => void): void {
    if (this.response.destroyed || this.response.writableEnded) {
      done();
      return;
    }
    this.metrics.camera(this.camera).sent('mjpeg', part.jpeg.length);
    this.progress.started();
    // Three writes, no concatenation: the JPEG Buffer is never copied per client.
    this.response.write(part.header);
    this.response.write(part.jpeg);
    this.response.write('\r\n', () => {
      this.progress.finished();
      done();
    });
  }
}

export class MjpegStreams implements FrameSink {
  private readonly clients = new Set<MjpegClient>();
  private nextId = 1;
  private readonly watchdog: StallWatchdog<MjpegClient>;

  /** @param stallLimitMs how long a client may take nothing before it is cut off; default STALL_LIMIT_MS */
  constructor(
    private readonly log: Logger,
    private readonly metrics: RelayMetrics,
    private readonly latest: (camera: string) => LatestFrame | undefined,
    stallLimitMs?: number,
    /** A stream opened or closed (see `watched`). */
    private readonly onWatchChange?: () => void,
  ) {
    this.watchdog = new StallWatchdog(
      () => this.clients,
      (client, blockedMs) => this.terminateStalled(client, blockedMs),
      stallLimitMs,
    );
  }

  get size(): number {
    return this.clients.size;
  }

  /** The cameras streamed now. */
  watched(): Set<string> {
    return new Set([...this.clients].map((client) => client.camera));
  }

  start(): void {
    this.watchdog.start();
  }

  /** Ends every stream (a client like VLC or ffmpeg then sees the end of the stream). */
  stop(): void {
    this.watchdog.stop();
    for (const client of this.clients) client.response.destroy();
    this.clients.clear();
    this.updateGauge();
  }

  /** Takes over a response and streams `camera` on it, to a client let in as `identity`, until it goes away. */
  add(camera: string, request: Request, response: Response, identity: ViewerIdentity): void {
    const client = new MjpegClient(this.nextId++, camera, response, identity, this.metrics);
    response.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
      'Cache-Control': 'no-store, no-cache, must-revalidate',
      Pragma: 'no-cache',
      // Proxies (nginx) must pass parts on as they come, not buffer the endless body.
      'X-Accel-Buffering': 'no',
    });
    response.socket?.setNoDelay(true);
    this.clients.add(client);
    this.updateGauge();
    this.log.info(
      { mjpeg: client.id, camera, user: identity.user, remoteAddress: request.socket.remoteAddress, streams: this.clients.size },
      'MJPEG stream opened',
    );
    response.on('close', () => {
      if (!this.clients.delete(client)) return;
      client.gate.dropPending();
      this.updateGauge();
      this.log.info({ mjpeg: client.id, camera, streams: this.clients.size }, 'MJPEG stream closed');
      this.onWatchChange?.();
    });
    const frame = this.latest(camera);
    if (frame) client.gate.offer(part(frame));
    this.onWatchChange?.();
  }

  deliverFrame(camera: string, frame: LatestFrame): void {
    let shared: Part | undefined;
    for (const client of this.clients) {
      if (client.camera !== camera) continue;
      shared ??= part(frame);
      const replacedBefore = client.gate.replaced;
      client.gate.offer(shared);
      if (client.gate.replaced !== replacedBefore) this.metrics.camera(camera).dropped('replaced', 'mjpeg');
    }
  }

  /** The camera is gone: its streams end, as a file would. */
  forgetCamera(camera: string): void {
    for (const client of this.clients) if (client.camera === camera) client.response.end();
  }

  /** Ends the streams of clients whose account was removed or whose password changed (auth is checked only when a stream opens). */
  endRevoked(): void {
    for (const client of this.clients) {
      if (client.identity.stillValid()) continue;
      this.log.info(
        { mjpeg: client.id, camera: client.camera, user: client.identity.user },
        'MJPEG client account removed or password changed, ending its stream',
      );
      client.response.end();
    }
  }

  private terminateStalled(client: MjpegClient, blockedMs: number): void {
    this.log.warn({ mjpeg: client.id, camera: client.camera, blockedMs }, 'MJPEG client blocked too long, closing it');
    this.metrics.viewersTerminated.inc({ transport: 'mjpeg' });
    client.response.destroy();
  }

  private updateGauge(): void {
    this.metrics.viewers.set({ transport: 'mjpeg' }, this.clients.size);
  }
}

function part(frame: LatestFrame): Part {
  return {
    header: Buffer.from(
      `--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.jpeg.length}\r\nX-Timestamp: ${(frame.receivedAt / 1000).toFixed(3)}\r\n\r\n`,
    ),
    jpeg: frame.jpeg,
  };
}
