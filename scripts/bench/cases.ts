/**
 * What the bench runs: the cases (camera size, viewers, broker) and how long each run lasts.
 * Every case is one fresh stack (broker, publisher(s), relay) per run, so peak memory and CPU
 * are those of that case alone.
 */
import type { BrokerKind } from './brokers.js';

export interface BenchCase {
  id: string;
  title: string;
  broker: BrokerKind;
  width: number;
  height: number;
  cameras: number;
  /** Viewers that read every frame (of every camera). */
  viewers: number;
  /** How many of those also decode every frame they can (50 decoders do not fit on 2 cores). */
  decoders: number;
  /** Viewers that stop reading their socket once connected. */
  frozen: number;
  /** MQTT_PROTOCOL_VERSION of publisher and relay: auto (MQTT 5 with every broker here) unless a case pins 3.1.1. */
  protocol?: '4';
  /**
   * The cameras: the test pattern (unset), an emulated V4L2 camera whose MJPG passes through
   * (v4l2-source.ts), or a live camera the bench does not own (real-source.ts): MJPEG over HTTP,
   * H.264 over RTSP, or a file.
   */
  source?: 'v4l2' | RealSourceKind;
  /** A real source's own size, when the publisher is asked for another (width x height). */
  sourceWidth?: number;
  sourceHeight?: number;
  /** CAPTURE_PASSTHROUGH for a real source (the publisher's default is on). */
  passthrough?: boolean;
}

export type RealSourceKind = 'mjpeg-http' | 'rtsp-h264' | 'file';

/** The source's own size: the published size unless the case names another. */
export function sourceSize(c: BenchCase): { width: number; height: number } {
  return { width: c.sourceWidth ?? c.width, height: c.sourceHeight ?? c.height };
}

/** A real source stamps its send time into each frame, so latency runs from the camera (not the publisher's read). */
export function stamped(c: BenchCase): boolean {
  return c.source === 'mjpeg-http' || c.source === 'rtsp-h264';
}

export const FPS = 30;
const FULL_HD = { sourceWidth: 1920, sourceHeight: 1080 };
export const QUALITY = 60;

function at640(id: string, title: string, fields: Partial<BenchCase>): BenchCase {
  return { id, title, broker: 'aedes', width: 640, height: 480, cameras: 1, viewers: 10, decoders: 2, frozen: 0, ...fields };
}

export const ALL_CASES: readonly BenchCase[] = [
  at640('320x240-v10', '320x240, 10 viewers', { width: 320, height: 240 }),
  at640('640x480-v10', '640x480, 10 viewers', {}),
  at640('1280x720-v10', '1280x720, 10 viewers', { width: 1280, height: 720 }),
  at640('640x480-v1', '640x480, 1 viewer', { viewers: 1, decoders: 1 }),
  at640('640x480-v50', '640x480, 50 viewers', { viewers: 50 }),
  at640('640x480-v100', '640x480, 100 viewers', { viewers: 100 }),
  at640('4cams-v10', '4 cameras 640x480, 10 viewers', { cameras: 4, decoders: 1 }),
  at640('frozen', '640x480, 1 viewer + 1 frozen viewer', { viewers: 1, decoders: 1, frozen: 1 }),
  at640('mosquitto-v10', '640x480, 10 viewers, Mosquitto', { broker: 'mosquitto' }),
  at640('aedes-tls-v10', '640x480, 10 viewers, Aedes over TLS', { broker: 'aedes-tls' }),
  at640('mqtt311-v10', '640x480, 10 viewers, MQTT 3.1.1', { protocol: '4' }),
  at640('v4l2-mjpg-v10', '640x480, 10 viewers, V4L2 MJPG passthrough', { source: 'v4l2' }),
  ...realSourceCases(),
];

/**
 * Live cameras (issue 15), each at 1 and at 10 viewers: MJPEG over HTTP passed through and
 * re-encoded at three sizes, 1080p MJPEG and 1080p H.264 over RTSP published at 720p, and a file.
 */
function realSourceCases(): BenchCase[] {
  const kinds: Array<[string, string, Partial<BenchCase>]> = [
    ['mjpeg-480-pass', 'MJPEG/HTTP 640x480 -> 640x480 passthrough', { source: 'mjpeg-http' }],
    ['mjpeg-480-q60', 'MJPEG/HTTP 640x480 -> 640x480 q60', { source: 'mjpeg-http', passthrough: false }],
    ['mjpeg-720-pass', 'MJPEG/HTTP 1280x720 -> 1280x720 passthrough', { source: 'mjpeg-http', width: 1280, height: 720 }],
    ['mjpeg-720-q60', 'MJPEG/HTTP 1280x720 -> 1280x720 q60', { source: 'mjpeg-http', width: 1280, height: 720, passthrough: false }],
    ['mjpeg-1080-pass', 'MJPEG/HTTP 1920x1080 -> 1920x1080 passthrough', { source: 'mjpeg-http', width: 1920, height: 1080 }],
    ['mjpeg-1080-q60', 'MJPEG/HTTP 1920x1080 -> 1920x1080 q60', { source: 'mjpeg-http', width: 1920, height: 1080, passthrough: false }],
    // Passthrough off, as the README advises for a source published smaller: FFmpeg's MJPEG decoder
    // then decodes, a third of imdecode's CPU here (with it on, frames are read as JPEG for it).
    [
      'mjpeg-1080-720',
      'MJPEG/HTTP 1920x1080 -> 1280x720 q60',
      { source: 'mjpeg-http', width: 1280, height: 720, ...FULL_HD, passthrough: false },
    ],
    ['rtsp-1080-720', 'H.264/RTSP 1920x1080 -> 1280x720 q60', { source: 'rtsp-h264', width: 1280, height: 720, ...FULL_HD }],
    ['file-720', 'H.264 file 1280x720 -> 1280x720 q60', { source: 'file', width: 1280, height: 720 }],
  ];
  return kinds.flatMap(([id, title, fields]) => [
    at640(`${id}-v1`, `${title}, 1 viewer`, { ...fields, viewers: 1, decoders: 1 }),
    at640(`${id}-v10`, `${title}, 10 viewers`, fields),
  ]);
}

/** Case ids that answer the questions, for the report's sections. */
export const GROUPS = {
  resolution: ['320x240-v10', '640x480-v10', '1280x720-v10'],
  fanout: ['640x480-v1', '640x480-v10', '640x480-v50', '640x480-v100'],
  brokers: ['640x480-v10', 'mqtt311-v10', 'aedes-tls-v10', 'mosquitto-v10'],
} as const;

/** The cases of a full run unless --cases names others: the real sources take as long again as the rest. */
export function isRealSource(c: BenchCase): boolean {
  return c.source !== undefined && c.source !== 'v4l2';
}

export const CAMERA_IDS = ['cam1', 'cam2', 'cam3', 'cam4'] as const;

export interface Timing {
  runs: number;
  warmupSeconds: number;
  measureSeconds: number;
}

export const FULL_TIMING: Timing = { runs: 3, warmupSeconds: 3, measureSeconds: 15 };
export const QUICK_TIMING: Timing = { runs: 1, warmupSeconds: 1, measureSeconds: 5 };

/** Start-up (broker, OpenCV load in publisher and viewer processes, first frame) and shutdown, per run, as measured here. */
const RUN_OVERHEAD_SECONDS = 9;
/** The floors at the end: encode/decode at each size and the bare MQTT round trips. */
const FLOORS_SECONDS = 25;

export function estimateSeconds(cases: readonly BenchCase[], timing: Timing): number {
  return cases.length * timing.runs * (timing.warmupSeconds + timing.measureSeconds + RUN_OVERHEAD_SECONDS) + FLOORS_SECONDS;
}
