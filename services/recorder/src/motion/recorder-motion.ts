/**
 * Motion's part of the recorder: its settings, and the motion service with the Home Assistant
 * sensors on the recorder's MQTT client. The recorder's main creates it before the recorder (which
 * hands it every frame) and starts it with the recorder's client and writer.
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

export interface RecorderMotionOptions {
  config: MotionConfig;
  mode: RecordMode;
  topics: Topics;
  /** RECORD_DIR, undefined when it is empty. */
  recordDir: string | undefined;
  /** RECORD_CAMERAS; empty: all. */
  cameras: readonly string[];
  log: Logger;
  onEvent?: (event: MotionEvent) => void;
}

export class RecorderMotion {
  private service: MotionService | undefined;
  private homeAssistant: MotionHomeAssistant | undefined;

  constructor(private readonly options: RecorderMotionOptions) {}

  /** Starts detection (unless MOTION_DETECTION=false) and the sensors; `recording` is used in RECORD_MODE=motion. */
  start(client: MqttClient, recording: MotionRecording): void {
    const { config, topics, log } = this.options;
    const enabled = config.HA_DISCOVERY && config.MOTION_DETECTION;
    this.homeAssistant = new MotionHomeAssistant(client, { topics, enabled, discoveryPrefix: config.HA_DISCOVERY_PREFIX }, log);
    this.homeAssistant.start();
    if (!config.MOTION_DETECTION) return;
    this.service = new MotionService({
      client,
      topics,
      recordDir: this.options.recordDir,
      cameras: this.options.cameras,
      settings: {
        threshold: config.MOTION_THRESHOLD,
        mask: config.MOTION_MASK,
        minArea: config.MOTION_MIN_AREA,
        detectionsPerS: config.MOTION_FPS,
        prerollS: config.RECORD_PREROLL_S,
        postrollS: config.RECORD_POSTROLL_S,
      },
      recording: this.options.mode === 'motion' ? recording : undefined,
      log,
      onEvent: this.options.onEvent,
    });
    this.service.start();
    log.info(
      { threshold: config.MOTION_THRESHOLD, minArea: config.MOTION_MIN_AREA, maskRects: config.MOTION_MASK.length, fps: config.MOTION_FPS },
      'motion detection on',
    );
  }

  /** Every frame of a recorded camera (the recorder's onCameraFrame). */
  frame(camera: string, jpeg: Uint8Array, captureTime: number): void {
    // Announced (or, with discovery off, withdrawn) the first time the camera is seen.
    this.homeAssistant?.camera(camera);
    this.service?.frame(camera, jpeg, captureTime);
  }

  /** A camera that is gone: its event ends, and its retained event and motion sensor are removed. */
  forget(camera: string): void {
    this.service?.forget(camera);
    this.homeAssistant?.forget(camera);
  }

  /** Ends the events under way (publishing their ends, closing their recordings). */
  async stop(): Promise<void> {
    this.homeAssistant?.stop();
    await this.service?.stop();
    this.service = undefined;
  }
}
