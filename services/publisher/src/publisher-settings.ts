/** The settings the publisher reads (besides LOG_LEVEL and the MQTT_* ones). Free of OpenCV. */
import type { Config, MqttConfig } from '@camqtt/protocol';

export const PUBLISHER_SETTINGS = [
  'CAMERA_ID', 'CAMERA_SOURCE', 'VIDEO_WIDTH', 'VIDEO_HEIGHT', 'VIDEO_FPS', 'JPEG_QUALITY', 'STATUS_INTERVAL_S', 'TOPIC_PREFIX',
] as const;

export type PublisherConfig = Config<(typeof PUBLISHER_SETTINGS)[number]> & MqttConfig;
