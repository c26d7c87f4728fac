/** The settings the publisher reads (besides LOG_LEVEL and the MQTT_* ones). Free of OpenCV. */
import type { Config, MqttConfig } from '@camqtt/service-kit';

export const PUBLISHER_SETTINGS = [
  'CAMERA_ID',
  'CAMERA_SOURCE',
  'VIDEO_WIDTH',
  'VIDEO_HEIGHT',
  'VIDEO_FPS',
  'VIDEO_MAX_WIDTH',
  'VIDEO_MAX_HEIGHT',
  'VIDEO_MAX_FPS',
  'JPEG_QUALITY',
  'STATUS_INTERVAL_S',
  'TOPIC_PREFIX',
  'VIDEO_LOOP',
  'VIDEO_OVERLAY',
  'TESTSRC_LARGE_CLOCK',
  'CAPTURE_PASSTHROUGH',
  'SNAPSHOT_QUALITY',
  'MQTT_MAX_PAYLOAD_BYTES',
  'MQTT_MAX_MESSAGES_PER_S',
  'PUBLISHER_HEALTH_FILE',
  'FRAME_EXPIRY_S',
  'HA_DISCOVERY',
  'HA_DISCOVERY_PREFIX',
  'HA_IMAGE_INTERVAL_S',
  'WEB_PUBLIC_URL',
  'WEB_PORT',
] as const;

export type PublisherConfig = Config<(typeof PUBLISHER_SETTINGS)[number]> & MqttConfig;
