/**
 * The relay's Prometheus metrics, on a registry of its own (served at GET /metrics), labelled per
 * camera. `transport` is `ws` (the page) or `mjpeg` (VLC, Home Assistant, `<img>`).
 *
 * Frames are counted on the hot path (one call per frame per viewer), so each camera's labelled
 * children are looked up once and kept, instead of hashing the labels on every call.
 */
import { Counter, Gauge, Registry } from 'prom-client';

export type Transport = 'ws' | 'mjpeg';

/**
 * Why a frame did not reach someone: `invalid_payload` (not a complete JPEG, never relayed),
 * `replaced` (a newer frame took its place while the viewer's socket was busy: newest wins),
 * `socket_full` (the viewer's socket had megabytes queued), `camera_removed`.
 */
export const DROP_REASONS = ['invalid_payload', 'stale', 'replaced', 'socket_full', 'camera_removed'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** The counters of one camera, bound to its labels. */
export interface CameraCounters {
  received(bytes: number): void;
  sent(transport: Transport, bytes: number): void;
  dropped(reason: DropReason, transport?: Transport): void;
}

export class RelayMetrics {
  readonly registry = new Registry();
  readonly framesReceived = new Counter({
    name: 'camqtt_web_frames_received_total',
    help: 'Frame messages received from MQTT.',
    labelNames: ['camera'],
    registers: [this.registry],
  });
  readonly bytesReceived = new Counter({
    name: 'camqtt_web_received_bytes_total',
    help: 'Frame payload bytes received from MQTT.',
    labelNames: ['camera'],
    registers: [this.registry],
  });
  readonly framesSent = new Counter({
    name: 'camqtt_web_frames_sent_total',
    help: 'Frames handed to a viewer socket (one per viewer).',
    labelNames: ['camera', 'transport'],
    registers: [this.registry],
  });
  readonly bytesSent = new Counter({
    name: 'camqtt_web_sent_bytes_total',
    help: 'Frame bytes handed to viewer sockets.',
    labelNames: ['camera', 'transport'],
    registers: [this.registry],
  });
  readonly framesDropped = new Counter({
    name: 'camqtt_web_frames_dropped_total',
    help: "Frames not relayed to a viewer, by reason: invalid_payload (not a complete JPEG), stale (arrived over 1 s later than the camera's usual delay, in a burst), replaced (newest wins: the viewer had not taken the previous one), socket_full, camera_removed.",
    labelNames: ['camera', 'reason', 'transport'],
    registers: [this.registry],
  });
  /** FFmpeg runs for recordings (ffmpeg-jobs.ts), by what they make and how they ended. */
  readonly recordingJobs = new Counter({
    name: 'camqtt_web_recording_jobs_total',
    help: 'FFmpeg runs for recordings, by kind (clip, snapshot, mjpeg playback) and result: ok, failed (FFmpeg failed, or was ended early because its client left), busy (refused: the job limit was reached).',
    labelNames: ['kind', 'result'],
    registers: [this.registry],
  });
  readonly recordingJobsRunning = new Gauge({
    name: 'camqtt_web_recording_jobs_running',
    help: 'FFmpeg runs for recordings at this moment (at most 4).',
    registers: [this.registry],
  });
  readonly viewersTerminated = new Counter({
    name: 'camqtt_web_viewers_terminated_total',
    help: 'Viewers disconnected because their socket stayed blocked or stopped answering pings.',
    labelNames: ['transport'],
    registers: [this.registry],
  });
  readonly viewers = new Gauge({
    name: 'camqtt_web_viewers',
    help: 'Connected viewers.',
    labelNames: ['transport'],
    registers: [this.registry],
  });
  readonly cameras = new Gauge({ name: 'camqtt_web_cameras', help: 'Cameras with a retained status.', registers: [this.registry] });
  private readonly perCamera = new Map<string, CameraCounters>();

  constructor() {
    // Both series exist from the start, so a dashboard shows 0 rather than nothing.
    this.viewers.set({ transport: 'ws' }, 0);
    this.viewers.set({ transport: 'mjpeg' }, 0);
  }

  camera(camera: string): CameraCounters {
    let counters = this.perCamera.get(camera);
    if (!counters) {
      const received = this.framesReceived.labels(camera);
      const receivedBytes = this.bytesReceived.labels(camera);
      const sent = { ws: this.framesSent.labels(camera, 'ws'), mjpeg: this.framesSent.labels(camera, 'mjpeg') };
      const sentBytes = { ws: this.bytesSent.labels(camera, 'ws'), mjpeg: this.bytesSent.labels(camera, 'mjpeg') };
      counters = {
        received: (bytes) => {
          received.inc();
          receivedBytes.inc(bytes);
        },
        sent: (transport, bytes) => {
          sent[transport].inc();
          sentBytes[transport].inc(bytes);
        },
        dropped: (reason, transport) => this.framesDropped.inc({ camera, reason, transport: transport ?? '' }),
      };
      this.perCamera.set(camera, counters);
    }
    return counters;
  }

  /** A removed camera's series go, so ids that come and go do not pile up in every scrape. */
  forgetCamera(camera: string): void {
    this.perCamera.delete(camera);
    this.framesReceived.remove(camera);
    this.bytesReceived.remove(camera);
    for (const transport of ['ws', 'mjpeg'] as const) {
      this.framesSent.remove(camera, transport);
      this.bytesSent.remove(camera, transport);
    }
    // prom-client removes a series only by its full label set.
    for (const reason of DROP_REASONS)
      for (const transport of ['', 'ws', 'mjpeg']) this.framesDropped.remove({ camera, reason, transport });
  }
}
