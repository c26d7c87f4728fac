/**
 * camqtt web: the viewer relay and page. MQTT frames in, one WebSocket per browser out.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig, MQTT_SETTINGS, mqttClientOptions, runService, Topics } from '@camqtt/protocol';
import { CameraDirectory } from './camera-directory.js';
import { FrameRelay } from './frame-relay.js';
import { RelayMetrics } from './relay-metrics.js';
import { ViewerFanout } from './viewer-fanout.js';
import { WebServer } from './web-server.js';

async function main(): Promise<void> {
  const config = loadConfig(['WEB_HOST', 'WEB_PORT', 'TOPIC_PREFIX', 'LOG_LEVEL', ...MQTT_SETTINGS]);
  const log = pino({ name: 'web', level: config.LOG_LEVEL });
  const topics = new Topics(config.TOPIC_PREFIX);
  const metrics = new RelayMetrics();

  // The directory tells the fan-out about changes, and the fan-out greets with the directory.
  const directory: CameraDirectory = new CameraDirectory((change) => fanout.broadcast(change));
  const fanout = new ViewerFanout(log, metrics, () => ({ type: 'hello', serverTime: Date.now(), cameras: directory.list() }));
  const relay = new FrameRelay({
    url: config.MQTT_URL,
    clientOptions: mqttClientOptions(config, { clientId: `camqtt-web-${randomBytes(6).toString('hex')}` }),
    topics,
    directory,
    fanout,
    metrics,
    log,
  });
  const server = new WebServer({
    host: config.WEB_HOST,
    port: config.WEB_PORT,
    publicDir: fileURLToPath(new URL('./public/', import.meta.url)),
    directory,
    fanout,
    relay,
    metrics,
    log,
  });

  fanout.start();
  relay.start();
  const port = await server.start();
  log.info({ listener: 'http', host: config.WEB_HOST, port }, 'listening');

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    try {
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
