/**
 * The relay's HTTP side: the page (static files), /healthz, /login, /api (see api-router.ts;
 * /api/recordings in recording-routes.ts),
 * /metrics, and the viewer WebSocket at /ws on the same port, all but /healthz behind the access
 * guard (see viewer-access.ts).
 */
import { createServer, STATUS_CODES, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import express from 'express';
import type { Logger } from 'pino';
import { closeServer, listen } from '@camqtt/service-kit';
import type { ControlLimits } from '@camqtt/wire';
import { WebSocketServer } from 'ws';
import { apiRouter } from './api-router.js';
import type { BrokerIntake } from './broker-intake.js';
import type { BrowserCameras } from './browser-cameras.js';
import type { CameraDirectory } from './camera-directory.js';
import type { FrameHub } from './frame-hub.js';
import type { HostCheck } from './host-check.js';
import type { MjpegStreams } from './mjpeg-streams.js';
import { recordingRoutes, type RecordingRoutesOptions } from './recording-routes.js';
import type { RelayMetrics } from './relay-metrics.js';
import { securityHeaders } from './security-headers.js';
import type { TrustProxy } from './trust-proxy.js';
import type { ViewerAccess } from './viewer-access.js';
import type { ViewerFanout } from './viewer-fanout.js';

/** Browsers send nothing big; a larger message is an abuse and closes the socket. */
const MAX_VIEWER_MESSAGE_BYTES = 64 * 1024;
/** A browser camera's frame: a 4K JPEG at high quality is a few MB. */
const MAX_BROWSER_FRAME_BYTES = 8 * 1024 * 1024;

export interface WebServerOptions {
  host: string;
  port: number;
  /** Directory holding the built page (index.html, main.js, styles.css). */
  publicDir: string;
  directory: CameraDirectory;
  hub: FrameHub;
  fanout: ViewerFanout;
  mjpeg: MjpegStreams;
  intake: BrokerIntake;
  /** Pages publishing their device's camera at /ws/camera (VIEWER_CAMERA_USERS). */
  browserCameras: BrowserCameras;
  /** RECORD_DIR's recordings, FFmpeg for clips and snapshots, and the motion event in progress. */
  recordings: RecordingRoutesOptions;
  access: ViewerAccess;
  /** Without a login, serves only loopback names and WEB_ALLOWED_HOSTS (DNS rebinding). */
  hostCheck: HostCheck;
  /** VIDEO_MAX_WIDTH/HEIGHT/FPS, for the control commands the API forwards. */
  controlLimits: ControlLimits;
  /** WEB_TRUST_PROXY, for request.secure (the cookie's Secure flag) and request.ip. */
  trustProxy: TrustProxy;
  metrics: RelayMetrics;
  log: Logger;
}

export class WebServer {
  private server: Server | undefined;
  private sockets: WebSocketServer | undefined;
  private cameraSockets: WebSocketServer | undefined;

  constructor(private readonly options: WebServerOptions) {}

  /** Listens; resolves with the port actually bound (WEB_PORT may be 0). */
  async start(): Promise<number> {
    const { host, port, log } = this.options;
    const server = createServer(this.createApp());
    // perMessageDeflate stays off: JPEG does not compress, and deflating per viewer would defeat
    // sending every viewer the same bytes.
    const sockets = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_VIEWER_MESSAGE_BYTES });
    const cameraSockets = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_BROWSER_FRAME_BYTES });
    server.on('upgrade', (request, socket, head) => {
      const path = new URL(request.url ?? '/', 'http://relay').pathname;
      if (path !== '/ws' && path !== '/ws/camera') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      if (!this.options.hostCheck.accepts(request)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      // Node drops its own error listener from an upgraded socket; until ws adds its own, a reset
      // while the password is being checked would otherwise crash the relay.
      const onEarlyError = (): void => void socket.destroy();
      socket.on('error', onEarlyError);
      void this.options.access.guard.checkUpgrade(request).then(
        (verdict) => {
          if (!verdict.ok) {
            log.warn(
              { remoteAddress: request.socket.remoteAddress, origin: request.headers.origin, reason: verdict.reason },
              'refused a viewer WebSocket',
            );
            socket.end(`HTTP/1.1 ${verdict.status} ${STATUS_CODES[verdict.status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
            return;
          }
          socket.off('error', onEarlyError);
          if (path === '/ws') {
            sockets.handleUpgrade(request, socket, head, (ws) => this.options.fanout.add(ws, request.socket.remoteAddress, verdict.viewer));
            return;
          }
          const camera = this.options.browserCameras.cameraFor(verdict.viewer);
          if (camera === undefined) {
            log.warn(
              { remoteAddress: request.socket.remoteAddress, user: verdict.viewer.user },
              'refused a browser camera: this viewer may not publish (VIEWER_CAMERA_USERS)',
            );
            socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
            return;
          }
          cameraSockets.handleUpgrade(request, socket, head, (ws) => this.options.browserCameras.add(ws, camera, verdict.viewer));
        },
        (error: unknown) => {
          log.error({ err: error }, 'viewer WebSocket check failed');
          socket.destroy();
        },
      );
    });
    this.server = server;
    this.sockets = sockets;
    this.cameraSockets = cameraSockets;

    const boundPort = await listen(server, port, host);
    server.on('error', (error) => log.error({ err: error }, 'HTTP server error'));
    return boundPort;
  }

  /** Stops accepting connections and ends the idle ones; viewers are closed by the fan-out. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeServer(server, true);
    await Promise.all(
      [this.sockets, this.cameraSockets].map(
        async (sockets) => await new Promise<void>((resolve) => (sockets ? sockets.close(() => resolve()) : resolve())),
      ),
    );
  }

  private createApp(): express.Express {
    const { publicDir, directory, fanout, mjpeg, intake, access, hostCheck, trustProxy, metrics, log } = this.options;
    const app = express();
    app.disable('x-powered-by');
    app.set('trust proxy', trustProxy);
    app.use(securityHeaders);

    app.get('/healthz', (_request, response) => {
      const { connected, broker, problem } = intake.link;
      // 503 while the broker is away: the relay is up but has nothing to relay.
      response.status(connected ? 200 : 503).json({
        status: connected ? 'ok' : 'degraded',
        mqtt: connected ? 'connected' : 'disconnected',
        broker,
        ...(problem ? { problem } : {}),
        viewers: fanout.size,
        mjpegStreams: mjpeg.size,
        cameras: directory.size,
      });
    });
    app.use(hostCheck.middleware());
    app.use(access.routes());
    app.use(access.guard.middleware());
    app.use('/api/recordings', recordingRoutes(this.options.recordings));
    app.use('/api', apiRouter({ ...this.options }));
    app.get('/metrics', async (_request, response) => {
      response.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });

    if (!existsSync(publicDir)) log.warn({ publicDir }, 'page not built (run npm run build --workspace web); only the API is served');
    app.use(express.static(publicDir));
    return app;
  }
}
