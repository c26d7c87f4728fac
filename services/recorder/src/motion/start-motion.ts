/**
 * Motion's part of the recorder's main: its settings, and starting the motion service and the
 * Home Assistant sensors on the recorder's MQTT client. Kept here so main.ts stays the recorder's.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { MotionEvent, RecordMode, Topics } from '@camqtt/wire';
import { ConfigError, type Config } from '@camqtt/service-kit';
import { MotionHomeAssistant } from './motion-home-assistant.js';
import { MotionService, type MotionRecording } from './motion-service.js';

export const MOTION_SETTINGS = [
  'MOTION_DETECTION',
  'MOTION_THRESHOLD',
  'MOTION_MIN_AREA',
  'MOTION_MASK',
  'MOTION_FPS',
  'RECORD_PREROLL_S',
  'RECORD_POSTROLL_S',
  'HA_DISCOVERY',
  'HA_DISCOVERY_PREFIX',
] as const;

export type MotionConfig = Config<(typeof MOTION_SETTINGS)[number]>;

/** Throws the one-line ConfigError for settings that contradict each other. */
export function checkMotionConfig(config: MotionConfig, mode: RecordMode): void {
  if (mode === 'motion' && !config.MOTION_DETECTION) throw new ConfigError('MOTION_DETECTION must be true with RECORD_MODE=motion');
}

export interface MotionParts {
  /** Every frame of a recorded camera (the recorder's onCameraFrame). */
  frame: (camera: string, jpeg: Uint8Array, captureTime: number) => void;
  stop: () => Promise<void>;
}

export interface StartMotionOptions {
  config: MotionConfig;
  mode: RecordMode;
  client: MqttClient;
  topics: Topics;
  /** RECORD_DIR, undefined when it is empty. */
  recordDir: string | undefined;
  /** The recorder's writer, used in RECORD_MODE=motion. */
  recording: MotionRecording;
  log: Logger;
  onEvent?: (event: MotionEvent) => void;
}

/** Starts motion detection and its Home Assistant sensors; undefined with MOTION_DETECTION=false. */
export function startMotion(options: StartMotionOptions): MotionParts | undefined {
  const { config, client, topics, log } = options;
  const homeAssistant = new MotionHomeAssistant(
    client,
    { topics, enabled: config.HA_DISCOVERY && config.MOTION_DETECTION, discoveryPrefix: config.HA_DISCOVERY_PREFIX },
    log,
  );
  homeAssistant.start();
  if (!config.MOTION_DETECTION) {
    return { frame: (camera) => homeAssistant.camera(camera), stop: () => Promise.resolve(homeAssistant.stop()) };
  }
  const motion = new MotionService({
    client,
    topics,
    recordDir: options.recordDir,
    settings: {
      threshold: config.MOTION_THRESHOLD,
      mask: config.MOTION_MASK,
      minArea: config.MOTION_MIN_AREA,
      detectionsPerS: config.MOTION_FPS,
      prerollS: config.RECORD_PREROLL_S,
      postrollS: config.RECORD_POSTROLL_S,
    },
    recording: options.mode === 'motion' ? options.recording : undefined,
    log,
    onEvent: options.onEvent,
  });
  motion.start();
  log.info(
    { threshold: config.MOTION_THRESHOLD, minArea: config.MOTION_MIN_AREA, mask: config.MOTION_MASK.length, fps: config.MOTION_FPS },
    'motion detection on',
  );
  return {
    frame: (camera, jpeg, captureTime) => {
      homeAssistant.camera(camera);
      motion.frame(camera, jpeg, captureTime);
    },
    stop: async () => {
      homeAssistant.stop();
      await motion.stop();
    },
  };
}
