/**
 * camqtt publisher: captures from a camera, file, stream or the built-in test pattern,
 * JPEG-encodes and publishes the frames over MQTT. Configured by environment (see
 * packages/service-kit/src/settings.ts); SIGTERM/SIGINT shut it down cleanly within 2 s.
 */
import { pino } from 'pino';
import { ConfigError, MQTT_SETTINGS, loadConfig, mqttClientOptions, runService, stopOnSignals } from '@camqtt/service-kit';
import { PUBLISHER_SETTINGS } from './publisher-settings.js';

/** The whole shutdown, after which the process exits regardless (docker stop waits 10 s). */
const SHUTDOWN_BUDGET_MS = 1500;
const SHUTDOWN_HARD_LIMIT_MS = 1900;

runService('publisher', async () => {
  const config = loadConfig(['LOG_LEVEL', ...PUBLISHER_SETTINGS, ...MQTT_SETTINGS]);
  // The maxima bound commands; a start above them would be a limit the camera itself breaks.
  for (const [name, value, maxName, max] of [
    ['VIDEO_WIDTH', config.VIDEO_WIDTH, 'VIDEO_MAX_WIDTH', config.VIDEO_MAX_WIDTH],
    ['VIDEO_HEIGHT', config.VIDEO_HEIGHT, 'VIDEO_MAX_HEIGHT', config.VIDEO_MAX_HEIGHT],
    ['VIDEO_FPS', config.VIDEO_FPS, 'VIDEO_MAX_FPS', config.VIDEO_MAX_FPS],
  ] as const) {
    if (value > max) throw new ConfigError(`${name} must be at most ${maxName} (${max}) (got ${value}); raise ${maxName} to allow it`);
  }
  // Reads the password/CA files now, so a bad one is a configuration error (exit 2), not a crash.
  mqttClientOptions(config, {}, config.CAMERA_ID);
  const log = pino({ name: 'publisher', level: config.LOG_LEVEL });

  // Imported only now: it loads the OpenCV addon, and reporting a wrong setting must not need that.
  const { CameraService } = await import('./camera-service.js');
  const service = new CameraService(config, log);
  service.start();

  stopOnSignals({ log, deadlineMs: SHUTDOWN_HARD_LIMIT_MS, stop: () => service.stop(SHUTDOWN_BUDGET_MS) });
});
