/**
 * The snapshot asked for and not yet sent: {"snapshot":true} sends the next frame as a snapshot.
 * Requests that come before that frame share it (one snapshot, one answer for all of them). Pure:
 * the frame loop asks `pending` and takes the request when it has a frame for it.
 */
import { EventEmitter } from 'node:events';

export type SnapshotResult = { seq: number } | { error: string };

export type SnapshotAnswer = (result: SnapshotResult) => void;

export class SnapshotRequests extends EventEmitter<{ requested: [] }> {
  private waiting: { answer: SnapshotAnswer; result: Promise<SnapshotResult> } | undefined;

  /** Whether a snapshot waits for the next frame. */
  get pending(): boolean {
    return this.waiting !== undefined;
  }

  /** Resolves once the next frame was sent as a snapshot, or with why not. */
  request(): Promise<SnapshotResult> {
    if (!this.waiting) {
      let answer!: SnapshotAnswer;
      const result = new Promise<SnapshotResult>((resolve) => {
        answer = resolve;
      });
      this.waiting = { answer, result };
      // A paused paced source reads nothing until something wakes it.
      this.emit('requested');
    }
    return this.waiting.result;
  }

  /** Takes the waiting request (the frame in hand becomes the snapshot): its answer, or undefined. */
  take(): SnapshotAnswer | undefined {
    const waiting = this.waiting;
    this.waiting = undefined;
    return waiting?.answer;
  }

  /** Answers the waiting request, if any, with `error`. */
  cancel(error: string): void {
    this.take()?.({ error });
  }
}
