/**
 * A drift-free frame schedule on the monotonic clock: frame k is due at start + k * interval, so
 * timer lateness never accumulates and the long-run rate never exceeds the target. When the
 * producer is slower than the schedule (a 15 fps camera asked for 30), the schedule re-anchors at
 * the producer's pace instead of bursting to catch up.
 */
export class Pacer {
  private intervalMs: number;
  /** Monotonic time (ms) the next frame is due. */
  private nextDue: number | undefined;

  constructor(fps: number) {
    this.intervalMs = 1000 / fps;
  }

  get fps(): number {
    return 1000 / this.intervalMs;
  }

  /** Changes the rate from the next frame on. */
  setFps(fps: number, now: number): void {
    const interval = 1000 / fps;
    if (interval === this.intervalMs) return;
    this.intervalMs = interval;
    // A slower rate must not keep an earlier due time; a faster one takes effect at once.
    if (this.nextDue !== undefined) this.nextDue = Math.min(this.nextDue, now + interval);
  }

  /** Forgets the schedule (after a pause or a source reopen): the next frame is due at once. */
  reset(): void {
    this.nextDue = undefined;
  }

  /** ms to wait until the next frame is due (0: now). */
  delayUntilDue(now: number): number {
    return this.nextDue === undefined ? 0 : Math.max(0, this.nextDue - now);
  }

  /**
   * For live sources, which deliver on their own clock: whether a frame arriving at `now` should
   * be taken. A quarter interval of tolerance, so a camera at exactly the target rate with some
   * jitter is not halved by frames arriving a millisecond early.
   */
  isDue(now: number): boolean {
    return this.nextDue === undefined || now >= this.nextDue - this.intervalMs / 4;
  }

  /** Records that a frame was taken at `now` and schedules the next one. */
  advance(now: number): void {
    const next = (this.nextDue ?? now) + this.intervalMs;
    // Fallen behind by more than one interval: the producer sets the pace, no burst.
    this.nextDue = next < now ? now : next;
  }
}
