/**
 * Motion for one camera: every frame goes into the pre-roll ring (motion mode), every
 * 1/MOTION_FPS s one is scored, and the tracker turns scores into start and end events. In
 * motion mode it also says which frames to record: the pre-roll when motion starts, then every
 * frame until the event ends.
 */
import type { MotionEvent } from '@camqtt/wire';
import { MotionDetector, type MotionDetectorOptions } from './motion-detector.js';
import { CONFIRM_DETECTIONS, MotionTracker } from './motion-tracker.js';
import { PrerollRing, prerollLimits, type RingFrame } from './preroll-ring.js';

/** Frames a little early still count as due, so 30 fps gives every 6th frame at MOTION_FPS=5, not every 7th. */
const DUE_TOLERANCE = 0.9;

export interface CameraMotionOptions extends MotionDetectorOptions {
  camera: string;
  minArea: number;
  /** MOTION_FPS. */
  detectionsPerS: number;
  /** RECORD_PREROLL_S. */
  prerollS: number;
  /** RECORD_POSTROLL_S. */
  postrollS: number;
  /** RECORD_MODE=motion: keep the pre-roll and say what to record. */
  recordOnMotion: boolean;
}

export interface FrameOutcome {
  /** An event to publish: motion started or ended with this frame. */
  event?: MotionEvent;
  /** Frames to record now, oldest first (motion mode only). */
  record: RingFrame[];
  /** Set when this frame failed to decode; it was skipped. */
  error?: Error;
}

export class CameraMotion {
  private readonly detector: MotionDetector;
  private readonly tracker: MotionTracker;
  private readonly ring: PrerollRing;
  private lastDetection = -Infinity;
  private lastFrameAt = 0;
  /** The newest capture time seen, to ignore frames older than it (a reconnecting camera's late ones). */
  private newestCapture = -Infinity;

  constructor(private readonly options: CameraMotionOptions) {
    this.detector = new MotionDetector(options);
    this.tracker = new MotionTracker({ camera: options.camera, minArea: options.minArea, quietMs: options.postrollS * 1000 });
    const confirmMs = (CONFIRM_DETECTIONS * 1000) / options.detectionsPerS;
    this.ring = new PrerollRing(prerollLimits(options.recordOnMotion ? options.prerollS : 0, confirmMs));
  }

  /** True while an event is under way (and, in motion mode, being recorded). */
  get active(): boolean {
    return this.tracker.active;
  }

  /** Every frame of the camera, in arrival order. `receivedAt` is the local clock, for `endIfSilent`. */
  frame(jpeg: Uint8Array, captureTime: number, receivedAt: number): FrameOutcome {
    this.lastFrameAt = receivedAt;
    const frame = { jpeg, captureTime };
    const outcome: FrameOutcome = { record: [] };
    // A copy: a payload may be a view into a larger network buffer, which the ring would keep alive
    // beyond its byte limit.
    if (this.options.recordOnMotion && !this.tracker.active) this.ring.push({ jpeg: new Uint8Array(jpeg), captureTime });
    if (this.tracker.active && this.options.recordOnMotion) outcome.record.push(frame);
    if (captureTime < this.newestCapture) this.detector.reset();
    this.newestCapture = captureTime;
    if (captureTime - this.lastDetection < (DUE_TOLERANCE * 1000) / this.options.detectionsPerS && captureTime >= this.lastDetection)
      return outcome;
    this.lastDetection = captureTime;
    let score: number | undefined;
    try {
      score = this.detector.score(jpeg, captureTime);
    } catch (error) {
      outcome.error = error instanceof Error ? error : new Error(String(error));
      return outcome;
    }
    if (score === undefined) return outcome;
    const wasActive = this.tracker.active;
    outcome.event = this.tracker.observe(captureTime, score);
    if (outcome.event?.state === 'start' && !wasActive && this.options.recordOnMotion) {
      outcome.record = this.ring.takeSince(outcome.event.start - this.options.prerollS * 1000);
    }
    return outcome;
  }

  /** Ends the event when no frame has come for the quiet time (the camera stopped or went away). */
  endIfSilent(now: number): MotionEvent | undefined {
    if (!this.tracker.active || now - this.lastFrameAt < this.options.postrollS * 1000) return undefined;
    return this.finish();
  }

  /** Ends the event under way, if any (the recorder stops). */
  finish(): MotionEvent | undefined {
    this.ring.clear();
    return this.tracker.finish();
  }

  /** Frees the native pictures and the pre-roll. */
  close(): void {
    this.detector.reset();
    this.ring.clear();
  }
}
