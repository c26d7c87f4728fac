/**
 * The capture helper's reads, one frame ahead: the next read starts as soon as a frame is handed
 * over, so it runs on the thread pool while that frame is encoded. When the publisher falls behind
 * the source (a busy machine, an encode slower than the frame interval), frames wait in the
 * socket and every one would go out later than the last; then the frames that were already waiting
 * are dropped and the newest is taken, so a slow publisher costs frames, never a growing delay.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** A read that came back faster than this share of the frame interval was waiting in a buffer. */
const BUFFERED_READ_SHARE = 0.25;
/** At most this many waiting frames are dropped for one handed over (the backlog is bounded anyway). */
const MAX_SKIPPED = 30;

interface PendingRead<T> {
  promise: Promise<T>;
  done: boolean;
}

export class ReadAhead<T> {
  private pending: PendingRead<T> | undefined;
  /** Frames dropped because a newer one was already waiting. */
  skipped = 0;

  /**
   * @param readOnce one read; never rejects (failures are values)
   * @param isFrame whether a read's outcome is a frame (not a failure)
   * @param drop frees a frame that is skipped
   * @param intervalMs the source's frame interval
   */
  constructor(
    private readonly readOnce: () => Promise<T>,
    private readonly isFrame: (outcome: T) => boolean,
    private readonly drop: (outcome: T) => void,
    private readonly intervalMs: () => number,
  ) {}

  /** Whether a read is running on the thread pool. */
  get reading(): boolean {
    return this.pending !== undefined && !this.pending.done;
  }

  /** Hands this outcome out first (a frame read while opening). */
  preload(outcome: T): void {
    this.pending = { promise: Promise.resolve(outcome), done: true };
  }

  /** The next frame (or failure), and the read after it started. */
  async take(): Promise<T> {
    const pending = this.pending ?? this.start();
    // Already there when asked for: the publisher is behind the source, and more may be waiting.
    const late = pending.done;
    let outcome = await pending.promise;
    this.pending = undefined;
    if (!this.isFrame(outcome)) return outcome;
    let next = this.start();
    for (let dropped = 0; late && dropped < MAX_SKIPPED; dropped += 1) {
      const quick = await Promise.race([next.promise, delay(BUFFERED_READ_SHARE * this.intervalMs()).then(() => undefined)]);
      // The source's own pace again (or a failure, reported at the next take): keep this frame.
      if (quick === undefined || !this.isFrame(quick)) break;
      this.drop(outcome);
      this.skipped += 1;
      outcome = quick;
      next = this.start();
    }
    this.pending = next;
    return outcome;
  }

  /** Forgets the read ahead; resolves with its outcome once it is over (for releasing what it read). */
  abandon(): Promise<T> | undefined {
    const pending = this.pending;
    this.pending = undefined;
    return pending?.promise;
  }

  private start(): PendingRead<T> {
    const pending: PendingRead<T> = { promise: this.readOnce(), done: false };
    void pending.promise.then(() => {
      pending.done = true;
    });
    return pending;
  }
}
