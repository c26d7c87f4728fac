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
import { MetricsServer, RecorderMetrics } from './recorder-metrics.js';
import { RecorderService } from './recorder-service.js';
import { MOTION_SETTINGS, RecorderMotion, checkMotionConfig } from './motion/recorder-motion.js';
import { Retention } from './retention.js';
import { SegmentIndex } from './segment-index.js';
import { StatusReporter } from './status-reporter.js';

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

const GB = 1024 ** 3;

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
    cameras,
    log,
  });
  const index = new SegmentIndex();
  // The three are wired through callbacks, so each is declared before the others use it.
  const metrics: RecorderMetrics = new RecorderMetrics({
    states: () =>
      service.list().map((recorder) => ({ camera: recorder.camera, state: config.RECORD_MODE === 'off' ? 'off' : recorder.state })),
    diskFreeBytes: () => status.diskFreeBytes,
    storedBytes: () => retention.storedBytes,
  });
  const service: RecorderService = new RecorderService({
    url: config.MQTT_URL,
    clientOptions,
    protocol: config.MQTT_PROTOCOL_VERSION,
    topics,
    mode: config.RECORD_MODE,
    format: config.RECORD_FORMAT,
    cameras,
    recordDir,
    segmentMs: config.RECORD_SEGMENT_S * 1000,
    index,
    log,
    onRecorderChange: (recorder) => status.changed(recorder),
    onSegment: (camera, entry) => {
      metrics.segmentsWritten.inc({ camera });
      metrics.segmentBytes.inc({ camera }, entry.bytes);
      status.segmentWritten(camera, entry.bytes);
      retention.run();
    },
    onDrop: (camera, reason) => metrics.framesDropped.inc({ camera, reason }),
    onWritten: (camera) => metrics.framesRecorded.inc({ camera }),
    onCameraFrame: (camera, jpeg, captureMs) => motion.frame(camera, jpeg, captureMs),
    onCameraGone: (camera) => motion.forget(camera),
  });
  const status: StatusReporter = new StatusReporter({
    client: () => service.mqtt,
    topics,
    mode: config.RECORD_MODE,
    format: config.RECORD_FORMAT,
    recordDir,
    recorders: () => service.list(),
    log,
  });
  const retention: Retention = new Retention({
    recordDir,
    maxAgeMs: config.RECORD_RETENTION_HOURS * 3_600_000,
    maxBytes: config.RECORD_MAX_GB * GB,
    index,
    openFiles: () => new Set(service.list().flatMap((recorder) => recorder.openPath ?? [])),
    log,
    onDelete: (reason) => metrics.retentionDeleted.inc({ reason }),
  });
  const metricsPortSetting = config.RECORD_METRICS_PORT;
  const metricsServer = metricsPortSetting === 'off' ? undefined : new MetricsServer(metrics, () => service.connected, log);
  const metricsPort = metricsPortSetting === 'off' ? undefined : await metricsServer?.start(metricsPortSetting);

  service.start();
  status.start();
  if (config.RECORD_MODE !== 'off') retention.start();
  motion.start(service.mqtt!, service);
  log.info(
    { mode: config.RECORD_MODE, format: config.RECORD_FORMAT, cameras: cameras.length > 0 ? cameras : 'all', recordDir },
    'recorder started',
  );

  stopOnSignals({
    log,
    deadlineMs: SHUTDOWN_DEADLINE_MS,
    stop: async () => {
      // Motion first: its open events end (published), and their recordings close with the rest.
      await motion.stop();
      await Promise.all([service.closeSegments(), retention.stop()]);
      await status.stop();
      await Promise.all([service.stop(), metricsServer?.stop()]);
    },
  });
  return metricsPort === undefined ? {} : { ports: { http: metricsPort } };
});
