/**
 * Turns one camera's motion scores into events: `start` once the score is at least the minimum
 * area on CONFIRM_DETECTIONS detections in a row (one noisy frame is not motion), `end` once no
 * detection has reached it for RECORD_POSTROLL_S. Times are the frames' capture times, so an event
 * says when things happened at the camera, not when the recorder got round to it. Pure logic: the
 * caller publishes what it returns.
 */
import { randomUUID } from 'node:crypto';
import type { MotionEvent } from '@camqtt/wire';

/** Detections in a row over the minimum area before motion is reported. */
export const CONFIRM_DETECTIONS = 2;

export interface MotionTrackerOptions {
  camera: string;
  /** MOTION_MIN_AREA, 0..1. */
  minArea: number;
  /** RECORD_POSTROLL_S, in ms. */
  quietMs: number;
}

export class MotionTracker {
  /** The event under way, as its `start` message said, with its largest score so far. */
  private current: MotionEvent | undefined;
  /** Capture time of the first of the moving detections in a row, while not yet confirmed. */
  private firstMoving: number | undefined;
  private movingInARow = 0;
  private lastMoving = 0;

  constructor(private readonly options: MotionTrackerOptions) {}

  get active(): boolean {
    return this.current !== undefined;
  }

  /** One detection's score at a capture time; returns the event to publish, if one starts or ends. */
  observe(captureTime: number, score: number): MotionEvent | undefined {
    if (score >= this.options.minArea) {
      this.movingInARow += 1;
      this.firstMoving ??= captureTime;
      this.lastMoving = captureTime;
      if (this.current) {
        this.current.score = Math.max(this.current.score, score);
        return undefined;
      }
      if (this.movingInARow < CONFIRM_DETECTIONS) return undefined;
      this.current = { type: 'motion', state: 'start', id: randomUUID(), camera: this.options.camera, start: this.firstMoving, score };
      return { ...this.current };
    }
    this.movingInARow = 0;
    this.firstMoving = undefined;
    return this.endIfQuiet(captureTime);
  }

  /** Ends the event if `now` (a capture time, or the clock when no frames come) is the quiet time past the last motion. */
  endIfQuiet(now: number): MotionEvent | undefined {
    // A capture time before the last motion (the camera's clock was set back) cannot measure quiet: end.
    if (!this.current || (now - this.lastMoving < this.options.quietMs && now >= this.lastMoving)) return undefined;
    return this.finish();
  }

  /** Ends the event under way now (the recorder stops, the camera goes away). */
  finish(): MotionEvent | undefined {
    const current = this.current;
    if (!current) return undefined;
    this.current = undefined;
    this.movingInARow = 0;
    this.firstMoving = undefined;
    return { ...current, state: 'end', end: this.lastMoving };
  }
}
