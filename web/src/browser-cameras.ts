/**
 * Browser cameras: a viewer account named in VIEWER_CAMERA_USERS may publish its device's camera
 * from the page, over the relay's WebSocket at /ws/camera. The relay publishes for it on its own
 * MQTT connection, so the browser camera is a camera like any other on the broker: frames on
 * `<prefix>/browser-<user>/frame`, a retained status, commands on its control topic.
 *
 * Why through the relay and not MQTT over WebSocket straight to the broker: the relay already
 * logs viewers in, checks Origin and holds an MQTT connection; the bundled broker has no
 * WebSocket listener, and a cloud broker keeps working with the relay's env vars alone.
 *
 * The cost: a browser camera has no MQTT session of its own, so no last will. The relay publishes
 * its `online:false` status itself when the page's socket closes (tab closed; a phone that
 * sleeps stops answering pings and is cut off) and when the relay shuts down. A relay that is
 * killed leaves the last `online:true` until its own restart's broker session, the one gap.
 */
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import {
  browserCameraId,
  type BrowserCameraSettings,
  capControlCommand,
  decodeControlCommand,
  InvalidCommandError,
  type ControlLimits,
  type Topics,
} from '@camqtt/wire';
import { BrowserCameraSession, type BrowserCameraPublisher } from './browser-camera-session.js';
import type { ViewerIdentity } from './viewer-identity.js';

/** The page sends nothing but pings' answers for this long: the phone slept or the network went. */
const HEARTBEAT_INTERVAL_MS = 15_000;

export interface BrowserCamerasOptions {
  /** VIEWER_CAMERA_USERS: the accounts that may publish from the browser. */
  users: string[];
  publisher: BrowserCameraPublisher;
  topics: Topics;
  /** VIDEO_MAX_*: commands are capped at them, as for any camera. */
  limits: ControlLimits;
  /** VIDEO_WIDTH, VIDEO_HEIGHT, VIDEO_FPS, JPEG_QUALITY: where a browser camera starts, as a publisher does. */
  startSettings: BrowserCameraSettings;
  log: Logger;
}

export class BrowserCameras {
  private readonly users: Set<string>;
  private readonly sessions = new Map<string, BrowserCameraSession>();
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BrowserCamerasOptions) {
    this.users = new Set(options.users.map((user) => user.trim()).filter(Boolean));
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The camera id `viewer` may publish as, or undefined when it may not (shared password, or not in VIEWER_CAMERA_USERS). */
  cameraFor(viewer: ViewerIdentity): string | undefined {
    if (viewer.user === undefined || !this.users.has(viewer.user)) return undefined;
    return browserCameraId(viewer.user);
  }

  /** Names in VIEWER_CAMERA_USERS whose camera id would not be valid (logged at start). */
  unusableUsers(): string[] {
    return [...this.users].filter((user) => browserCameraId(user) === undefined);
  }

  start(): void {
    this.heartbeatTimer = setInterval(() => {
      for (const session of this.sessions.values()) session.ping();
    }, HEARTBEAT_INTERVAL_MS);
  }

  /** Marks every browser camera offline (there is no last will to do it) and closes their sockets. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map((session) => session.end(1001, 'relay shutting down')));
  }

  /** Takes over an upgraded /ws/camera socket of `viewer`, whose camera id is `camera` (see cameraFor). */
  add(socket: WebSocket, camera: string, viewer: ViewerIdentity): void {
    const { publisher, topics, startSettings, log } = this.options;
    // One camera per account: a second tab takes over, the first is told why.
    const previous = this.sessions.get(camera);
    this.sessions.delete(camera);
    if (previous) void previous.end(4000, 'another page took over this camera', { offline: false });
    const session = new BrowserCameraSession({ camera, socket, viewer, publisher, topics, startSettings, log });
    this.sessions.set(camera, session);
    log.info({ camera, user: viewer.user, cameras: this.sessions.size }, 'browser camera connected');
    socket.on('message', (data: RawData, isBinary: boolean) => session.onMessage(toBuffer(data), isBinary));
    socket.on('error', (error) => log.debug({ camera, err: error }, 'browser camera socket error'));
    socket.on('close', (code) => {
      if (this.sessions.get(camera) !== session) return;
      this.sessions.delete(camera);
      log.info({ camera, code, cameras: this.sessions.size }, 'browser camera disconnected');
      void session.end(code, 'closed');
    });
    session.start();
  }

  /** Account removed or re-passworded: its camera goes offline with its socket. */
  closeRevoked(): void {
    for (const session of this.sessions.values()) if (!session.viewer.stillValid()) session.close(1008, 'log in again');
  }

  /** A message on a browser camera's control topic: checked and capped like the publisher does, then sent to its page. */
  onControl(camera: string, payload: Buffer): void {
    const session = this.sessions.get(camera);
    if (!session) return;
    try {
      const checked = decodeControlCommand(payload);
      const { command, capped } = capControlCommand(checked, this.options.limits, session.settings);
      session.applyCommand(command, capped);
    } catch (error) {
      if (!(error instanceof InvalidCommandError)) throw error;
      session.refuseCommand(error.message, error.id);
    }
  }
}

function toBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}
