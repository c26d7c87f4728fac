/**
 * camqtt web: the viewer relay and page. MQTT frames in, one WebSocket per browser out.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig, MQTT_SETTINGS, mqttClientOptions, readSettingFile, runService, Topics } from '@camqtt/protocol';
import { CameraDirectory } from './camera-directory.js';
import { FrameHub } from './frame-hub.js';
import { FrameRelay } from './frame-relay.js';
import { MjpegStreams } from './mjpeg-streams.js';
import { RelayMetrics } from './relay-metrics.js';
import { ViewerAccess } from './viewer-access.js';
import { ViewerFanout } from './viewer-fanout.js';
import { WebServer } from './web-server.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

async function main(): Promise<void> {
  const config = loadConfig([
    'WEB_HOST', 'WEB_PORT', 'WEB_ALLOWED_ORIGINS', 'VIEWER_PASSWORD', 'VIEWER_PASSWORD_FILE', 'VIEWER_CONTROL', 'TOPIC_PREFIX', 'LOG_LEVEL', ...MQTT_SETTINGS,
  ]);
  const log = pino({ name: 'web', level: config.LOG_LEVEL });
  const topics = new Topics(config.TOPIC_PREFIX);
  const metrics = new RelayMetrics();
  const password = config.VIEWER_PASSWORD || (config.VIEWER_PASSWORD_FILE ? readSettingFile('VIEWER_PASSWORD_FILE', config.VIEWER_PASSWORD_FILE).trim() : '');
  const access = new ViewerAccess({ password, allowedOrigins: config.WEB_ALLOWED_ORIGINS.split(','), log });

  // The directory tells the fan-out about changes, and the fan-out greets with the directory.
  const hub = new FrameHub();
  const directory: CameraDirectory = new CameraDirectory((change) => fanout.broadcast(change));
  const cameras = (): Set<string> => new Set([...directory.list().map((status) => status.camera), ...hub.cameras()]);
  const fanout = new ViewerFanout({
    log,
    metrics,
    greeting: () => ({ type: 'hello', serverTime: Date.now(), cameras: directory.list(), canControl: config.VIEWER_CONTROL }),
    latest: (camera) => hub.latest(camera),
    cameras,
  });
  const mjpeg = new MjpegStreams(log, metrics, (camera) => hub.latest(camera));
  hub.addSink(fanout);
  hub.addSink(mjpeg);
  const relay = new FrameRelay({
    url: config.MQTT_URL,
    clientOptions: mqttClientOptions(config, { clientId: `camqtt-web-${randomBytes(6).toString('hex')}` }),
    topics,
    directory,
    hub,
    metrics,
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
    relay,
    access,
    allowControl: config.VIEWER_CONTROL,
    metrics,
    log,
  });

  fanout.start();
  mjpeg.start();
  relay.start();
  const port = await server.start();
  log.info({ listener: 'http', host: config.WEB_HOST, port }, 'listening');
  if (!access.required) {
    // Said at every start, so nobody runs an open camera viewer without knowing it.
    if (LOOPBACK_HOSTS.has(config.WEB_HOST)) log.warn({ host: config.WEB_HOST }, 'no VIEWER_PASSWORD set: the viewer has no login, so it listens on this machine only; set VIEWER_PASSWORD before setting WEB_HOST=0.0.0.0');
    else log.warn({ host: config.WEB_HOST }, 'no VIEWER_PASSWORD set and WEB_HOST is not a loopback address: anyone who can reach this port can watch the cameras (fine behind docker compose\'s 127.0.0.1-only port, otherwise set VIEWER_PASSWORD)');
  }

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    try {
      mjpeg.stop();
      await Promise.all([server.stop(), fanout.stop(), relay.stop()]);
      log.info('stopped');
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
}

runService('web', main);
