/**
 * camqtt recorder: records every camera's frames from the broker (or RECORD_CAMERAS) to fragmented
 * MP4 segments under RECORD_DIR, with retention, and publishes its state per camera. Configured
 * by environment (see packages/service-kit/src/settings.ts); SIGTERM/SIGINT finish the open
 * segments and stop it.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { Topics } from '@camqtt/wire';
import { ConfigError, MQTT_SETTINGS, loadConfig, mqttClientOptions, runService, stopOnSignals } from '@camqtt/service-kit';
import { RecorderService } from './recorder-service.js';
import { MOTION_SETTINGS, RecorderMotion, checkMotionConfig } from './motion/recorder-motion.js';

/** Finishing open segments waits for FFmpeg to write its last fragment; docker stop waits 10 s. */
const SHUTDOWN_DEADLINE_MS = 8000;

export const RECORDER_SETTINGS = [
  'LOG_LEVEL',
  'TOPIC_PREFIX',
  'RECORD_MODE',
  'RECORD_CAMERAS',
  'RECORD_SEGMENT_S',
  'RECORD_FORMAT',
  'RECORD_DIR',
  'RECORD_RETENTION_HOURS',
  'RECORD_MAX_GB',
  'RECORD_METRICS_PORT',
  ...MOTION_SETTINGS,
  ...MQTT_SETTINGS,
] as const;

runService('recorder', async () => {
  const config = loadConfig(RECORDER_SETTINGS);
  if (config.RECORD_DIR === '' && config.RECORD_MODE !== 'off')
    throw new ConfigError('RECORD_DIR must be set to the folder for the recordings (or RECORD_MODE=off)');
  checkMotionConfig(config, config.RECORD_MODE);
  const clientOptions = mqttClientOptions(config, { clientId: `camqtt-recorder-${randomBytes(6).toString('hex')}` });
  const log = pino({ name: 'recorder', level: config.LOG_LEVEL });
  const cameras = config.RECORD_CAMERAS.split(',')
    .map((camera) => camera.trim())
    .filter(Boolean);
  const recordDir = resolve(config.RECORD_DIR || '.');

  const topics = new Topics(config.TOPIC_PREFIX);
  const motion = new RecorderMotion({
    config,
    mode: config.RECORD_MODE,
    topics,
    recordDir: config.RECORD_DIR === '' ? undefined : recordDir,
    log,
  });
  const service = new RecorderService({
    url: config.MQTT_URL,
    clientOptions,
    protocol: config.MQTT_PROTOCOL_VERSION,
    topics,
    mode: config.RECORD_MODE,
    format: config.RECORD_FORMAT,
    cameras,
    recordDir,
    segmentMs: config.RECORD_SEGMENT_S * 1000,
    log,
    onCameraFrame: (camera, jpeg, captureMs) => motion.frame(camera, jpeg, captureMs),
  });
  service.start();
  motion.start(service.mqtt!, service);
  log.info(
    { mode: config.RECORD_MODE, format: config.RECORD_FORMAT, cameras: cameras.length > 0 ? cameras : 'all', recordDir },
    'recording',
  );

  stopOnSignals({
    log,
    deadlineMs: SHUTDOWN_DEADLINE_MS,
    stop: async () => {
      // Motion first: its open events end, and their recordings close before the recorder's segments do.
      await motion.stop();
      await service.stop();
    },
  });
});
