/**
 * camqtt web: the viewer relay and page. MQTT frames in, one WebSocket per browser out.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { epochNowMs, Topics } from '@camqtt/wire';
import {
  type AccountFile,
  loadConfig,
  MQTT_SETTINGS,
  mqttClientOptions,
  readSettingFile,
  runService,
  stopOnSignals,
} from '@camqtt/service-kit';
import { BrokerIntake } from './broker-intake.js';
import { BrowserCameras } from './browser-cameras.js';
import { CameraDirectory } from './camera-directory.js';
import { FfmpegJobs } from './ffmpeg-jobs.js';
import { FrameHub } from './frame-hub.js';
import { HostCheck } from './host-check.js';
import { MjpegStreams } from './mjpeg-streams.js';
import { RecorderFeed } from './recorder-feed.js';
import { RecordingStore } from './recording-store.js';
import { RelayMetrics } from './relay-metrics.js';
import { loadSessionSecret } from './session-secret.js';
import { testLimits } from './test-limits.js';
import { parseTrustProxy } from './trust-proxy.js';
import { ViewerAccess } from './viewer-access.js';
import { ViewerFanout } from './viewer-fanout.js';
import { loadViewerUsers } from './viewer-users.js';
import { WebServer } from './web-server.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);
/**
 * FFmpeg runs for recordings (clips, snapshots, MJPEG playback) at once; more are answered "busy".
 * Copying is cheap, but each holds a process and file handles for as long as its client reads.
 */
const MAX_FFMPEG_JOBS = 4;
/** Of which one viewer (an account, or an address for the shared password) may run this many. */
const MAX_FFMPEG_JOBS_PER_VIEWER = 2;
/** Exit anyway after this long: a viewer socket that will not close must not hold docker stop to its 10 s SIGKILL. */
const SHUTDOWN_DEADLINE_MS = 5000;

async function main(): Promise<{ ports: { http: number } }> {
  const config = loadConfig([
    'WEB_HOST',
    'WEB_PORT',
    'WEB_ALLOWED_ORIGINS',
    'WEB_ALLOWED_HOSTS',
    'WEB_TRUST_PROXY',
    'WEB_SECRET_FILE',
    'WEB_FRAMES_WATCHED_ONLY',
    'VIDEO_WIDTH',
    'VIDEO_HEIGHT',
    'VIDEO_FPS',
    'JPEG_QUALITY',
    'VIDEO_MAX_WIDTH',
    'VIDEO_MAX_HEIGHT',
    'VIDEO_MAX_FPS',
    'VIEWER_PASSWORD',
    'VIEWER_PASSWORD_FILE',
    'VIEWER_USERS_FILE',
    'VIEWER_CONTROL',
    'VIEWER_CONTROL_USERS',
    'VIEWER_CAMERA_USERS',
    'TOPIC_PREFIX',
    'RECORD_DIR',
    'LOG_LEVEL',
    ...MQTT_SETTINGS,
  ]);
  const log = pino({ name: 'web', level: config.LOG_LEVEL });
  const topics = new Topics(config.TOPIC_PREFIX);
  const metrics = new RelayMetrics();
  const password =
    config.VIEWER_PASSWORD ||
    (config.VIEWER_PASSWORD_FILE ? readSettingFile('VIEWER_PASSWORD_FILE', config.VIEWER_PASSWORD_FILE).trim() : '');
  const users = config.VIEWER_USERS_FILE ? await loadViewerUsers(config.VIEWER_USERS_FILE, log) : undefined;
  const trustProxy = parseTrustProxy(config.WEB_TRUST_PROXY);
  // Session cookies are signed with it; no file is made for a relay without a login.
  const sessionSecret = password || users ? loadSessionSecret(config.WEB_SECRET_FILE, log) : undefined;
  const controlUsers = splitList(config.VIEWER_CONTROL_USERS);
  const access = new ViewerAccess({
    password,
    users,
    allowControl: config.VIEWER_CONTROL,
    controlUsers,
    allowedOrigins: config.WEB_ALLOWED_ORIGINS.split(','),
    sessionSecret,
    trustProxy,
    log,
  });

  const { stallLimitMs, answerTimeoutMs, staleResetMs } = testLimits();
  // The directory tells the fan-out about changes, and the fan-out greets with the directory.
  const hub = new FrameHub();
  const directory: CameraDirectory = new CameraDirectory((change) => fanout.broadcast(change));
  const recordings = new RecordingStore(config.RECORD_DIR);
  const ffmpegJobs = new FfmpegJobs(MAX_FFMPEG_JOBS, MAX_FFMPEG_JOBS_PER_VIEWER, log, metrics);
  const recorder = new RecorderFeed((event) => fanout.broadcast(event), log);
  const cameras = (): Set<string> => new Set([...directory.list().map((status) => status.camera), ...hub.cameras()]);
  const fanout = new ViewerFanout({
    log,
    metrics,
    greeting: (viewer) => ({
      type: 'hello',
      serverTime: epochNowMs(),
      cameras: directory.list(),
      canControl: viewer.canControl,
      loginRequired: access.required,
      brokerLink: intake.link,
      ...optional('browserCamera', browserCameras.cameraFor(viewer)),
      recordings: recordings.root !== undefined,
      motion: recorder.motionEvents(),
      recorders: recorder.recorderStates(),
    }),
    latest: (camera) => hub.latest(camera),
    cameras,
    stallLimitMs,
    onWatchChange: () => watchChanged(),
  });
  const mjpeg = new MjpegStreams(
    log,
    metrics,
    (camera) => hub.latest(camera),
    stallLimitMs,
    () => watchChanged(),
  );
  const watchChanged = (): void => {
    const viewers = fanout.watched();
    intake.watchFrames(viewers === 'all' ? 'all' : new Set([...viewers, ...mjpeg.watched()]));
  };
  hub.addSink(fanout);
  hub.addSink(mjpeg);
  const intake = new BrokerIntake({
    url: config.MQTT_URL,
    clientOptions: mqttClientOptions(config, { clientId: `camqtt-web-${randomBytes(6).toString('hex')}` }),
    protocol: config.MQTT_PROTOCOL_VERSION,
    topics,
    directory,
    hub,
    metrics,
    log,
    onLinkChange: (link) => fanout.broadcast({ type: 'broker', link }),
    answerTimeoutMs,
    staleResetMs,
    onControl: (camera, payload) => browserCameras.onControl(camera, payload),
    onRecorder: (camera, kind, payload) => recorder.onMessage(camera, kind, payload),
    framesWatchedOnly: config.WEB_FRAMES_WATCHED_ONLY,
  });
  const controlLimits = {
    maxWidth: config.VIDEO_MAX_WIDTH,
    maxHeight: config.VIDEO_MAX_HEIGHT,
    maxFps: config.VIDEO_MAX_FPS,
    sizeLimit: "the relay's VIDEO_MAX_WIDTH x VIDEO_MAX_HEIGHT",
  };
  const browserCameras = new BrowserCameras({
    users: splitList(config.VIEWER_CAMERA_USERS),
    publisher: intake,
    topics,
    limits: controlLimits,
    startSettings: {
      width: config.VIDEO_WIDTH,
      height: config.VIDEO_HEIGHT,
      fps: config.VIDEO_FPS,
      quality: config.JPEG_QUALITY,
      paused: false,
    },
    log,
  });
  const server = new WebServer({
    host: config.WEB_HOST,
    port: config.WEB_PORT,
    publicDir: fileURLToPath(new URL('./public/', import.meta.url)),
    directory,
    hub,
    fanout,
    mjpeg,
    intake,
    browserCameras,
    recordings: {
      store: recordings,
      jobs: ffmpegJobs,
      currentMotion: (camera) => recorder.lastMotion(camera),
      viewerOf: (request) => access.guard.identity(request),
      log,
    },
    access,
    hostCheck: new HostCheck(access.required, config.WEB_ALLOWED_HOSTS.split(','), log),
    trustProxy,
    controlLimits,
    metrics,
    log,
  });

  // An account removed or re-passworded loses its open sockets and streams too, not just new requests.
  users?.onRevoked(() => {
    fanout.closeRevoked();
    mjpeg.endRevoked();
    browserCameras.closeRevoked();
    ffmpegJobs.endRevoked();
  });

  fanout.start();
  mjpeg.start();
  browserCameras.start();
  intake.start();
  users?.watch();
  const port = await server.start();
  log.info({ listener: 'http', host: config.WEB_HOST, port }, 'listening');
  logLoginMode(log, config.WEB_HOST, password !== '', users, controlUsers);
  logBrowserCameras(log, browserCameras, users, splitList(config.VIEWER_CAMERA_USERS));
  if (recordings.root) log.info({ recordDir: recordings.root }, 'recordings: serving RECORD_DIR to the page (read only)');

  stopOnSignals({
    log,
    deadlineMs: SHUTDOWN_DEADLINE_MS,
    stop: async () => {
      mjpeg.stop();
      ffmpegJobs.stop();
      users?.stop();
      // Browser cameras first: their offline statuses need the MQTT connection the intake closes.
      await browserCameras.stop();
      await Promise.all([server.stop(), fanout.stop(), intake.stop()]);
    },
    // SIGHUP re-reads the viewer users file, for file systems where watching it does not work.
    ...(users ? { reload: () => users.reload() } : {}),
  });
  return { ports: { http: port } };
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** Who may publish from a browser, and the names that cannot (no account, or no valid camera id). */
function logBrowserCameras(log: Logger, cameras: BrowserCameras, users: AccountFile | undefined, cameraUsers: string[]): void {
  if (cameraUsers.length === 0) return;
  if (!users) {
    log.warn({ cameraUsers }, 'VIEWER_CAMERA_USERS is set but VIEWER_USERS_FILE is not: nobody may publish from a browser');
    return;
  }
  log.info({ cameraUsers }, 'browser cameras: these viewer accounts may publish as browser-<user>');
  const unusable = cameras.unusableUsers();
  if (unusable.length > 0)
    log.warn(
      { cameraUsers: unusable },
      'VIEWER_CAMERA_USERS names users whose browser-<user> is not a valid camera id (letters, digits, _ and -)',
    );
}

/** One line at every start saying how viewers log in, so nobody runs an open camera viewer without knowing it. */
function logLoginMode(log: Logger, host: string, hasPassword: boolean, users: AccountFile | undefined, controlUsers: string[]): void {
  const control = controlUsers.length > 0 ? { controlUsers } : {};
  if (users) {
    const also = hasPassword ? ', and VIEWER_PASSWORD with any user name' : '';
    log.info(
      { login: 'users', file: users.path, users: users.size, sharedPassword: hasPassword, ...control },
      `viewer login: users file with ${users.size} user${users.size === 1 ? '' : 's'}${also}`,
    );
    const unknown = controlUsers.filter((user) => !users.has(user));
    if (unknown.length > 0) log.warn({ controlUsers: unknown }, 'VIEWER_CONTROL_USERS names users that are not in VIEWER_USERS_FILE (yet)');
    return;
  }
  if (controlUsers.length > 0)
    log.warn(
      { controlUsers },
      'VIEWER_CONTROL_USERS is set but VIEWER_USERS_FILE is not: no viewer has a user name, so nobody may control cameras',
    );
  if (hasPassword) log.info({ login: 'password', ...control }, 'viewer login: VIEWER_PASSWORD (HTTP basic auth with any user name)');
  else if (LOOPBACK_HOSTS.has(host))
    log.warn(
      { login: 'none', host },
      'no VIEWER_PASSWORD set: the viewer has no login, so it listens on this machine only; set VIEWER_PASSWORD or VIEWER_USERS_FILE before setting WEB_HOST=0.0.0.0',
    );
  else
    log.warn(
      { login: 'none', host },
      "no VIEWER_PASSWORD set and WEB_HOST is not a loopback address: anyone who can reach this port can watch the cameras (fine behind docker compose's 127.0.0.1-only port, otherwise set VIEWER_PASSWORD or VIEWER_USERS_FILE)",
    );
}

runService('web', main);
