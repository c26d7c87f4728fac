/**
 * Topic layout:
 *   <prefix>/<camera>/frame    QoS 0, one JPEG per message (see frame.ts)
 *   <prefix>/<camera>/status   retained JSON (see status.ts); the last will marks the camera offline
 *   <prefix>/<camera>/control  JSON commands to the camera
 *   <prefix>/<camera>/image    retained JPEG, one every HA_IMAGE_INTERVAL_S: a still for Home
 *                              Assistant's MQTT camera (which shows the last image of its topic)
 *   <prefix>/<camera>/answer   MQTT 5: the camera's answer to a control command that named this
 *                              topic as its response topic, with the command's correlation data
 *   <prefix>/<camera>/event    retained JSON motion events from the recorder (see recording.ts)
 *   <prefix>/<camera>/recording  retained JSON: the recorder's state for this camera (recording.ts)
 */

export type TopicKind = 'frame' | 'status' | 'control' | 'image' | 'answer' | 'event' | 'recording';
export const TOPIC_KINDS: readonly TopicKind[] = ['frame', 'status', 'control', 'image', 'answer', 'event', 'recording'];

/** A camera id is one topic level: no wildcards, no slashes, nothing a URL or file name chokes on. */
export const CAMERA_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** A prefix is one or more plain topic levels. */
export const TOPIC_PREFIX_PATTERN = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

/**
 * A camera's publisher connects as client `camqtt-pub-<camera>`. The bundled broker lets only the
 * account named like the camera use such an id, so no other account can take the camera's session
 * over (and fire its last will).
 */
export const CAMERA_CLIENT_ID_PREFIX = 'camqtt-pub-';

export function isCameraId(value: string): boolean {
  return CAMERA_ID_PATTERN.test(value);
}

export class Topics {
  constructor(readonly prefix: string) {}

  frame(camera: string): string {
    return `${this.prefix}/${camera}/frame`;
  }

  status(camera: string): string {
    return `${this.prefix}/${camera}/status`;
  }

  control(camera: string): string {
    return `${this.prefix}/${camera}/control`;
  }

  image(camera: string): string {
    return `${this.prefix}/${camera}/image`;
  }

  answer(camera: string): string {
    return `${this.prefix}/${camera}/answer`;
  }

  event(camera: string): string {
    return `${this.prefix}/${camera}/event`;
  }

  recording(camera: string): string {
    return `${this.prefix}/${camera}/recording`;
  }

  /** Subscription filter for one kind of topic of every camera. */
  all(kind: TopicKind): string {
    return `${this.prefix}/+/${kind}`;
  }

  /** Splits a topic of ours into camera and kind; undefined for anything else. */
  parse(topic: string): { camera: string; kind: TopicKind } | undefined {
    if (!topic.startsWith(`${this.prefix}/`)) return undefined;
    const rest = topic.slice(this.prefix.length + 1).split('/');
    if (rest.length !== 2) return undefined;
    const [camera, kind] = rest as [string, string];
    if (!isCameraId(camera) || !(TOPIC_KINDS as readonly string[]).includes(kind)) return undefined;
    return { camera, kind: kind as TopicKind };
  }
}

/**
 * Where a camera's Home Assistant discovery config goes:
 * `<discovery prefix>/camera/camqtt_<topic prefix, / as _>/<camera>/config`. The node id tells
 * camqtt installations with different topic prefixes apart on one Home Assistant.
 */
export function haDiscoveryTopic(discoveryPrefix: string, topicPrefix: string, camera: string): string {
  return `${discoveryPrefix}/camera/${haNodeId(topicPrefix)}/${camera}/config`;
}

/**
 * Where the recorder's motion sensor for a camera is announced:
 * `<discovery prefix>/binary_sensor/camqtt_<topic prefix, / as _>/<camera>/config`.
 */
export function haMotionDiscoveryTopic(discoveryPrefix: string, topicPrefix: string, camera: string): string {
  return `${discoveryPrefix}/binary_sensor/${haNodeId(topicPrefix)}/${camera}/config`;
}

/** One level of [A-Za-z0-9_-], as Home Assistant wants a node id. */
export function haNodeId(topicPrefix: string): string {
  return `camqtt_${topicPrefix.replaceAll('/', '_')}`;
}
