/**
 * Wall-clock time (ms since the epoch) with sub-millisecond resolution that agrees across the
 * processes of one machine: what capture times, relay receive times and the bench's latencies are
 * measured on.
 *
 * `Date.now()` agrees across processes but only to the whole ms. `performance.timeOrigin +
 * performance.now()` has the resolution but not the agreement: it is the wall clock at process
 * start carried forward on the monotonic clock, and the two clocks drift apart. On the bench
 * machine (a VM) they drifted 1.7 ms in 5 s, so a publisher started a minute before a viewer
 * stamped frames tens of ms off the viewer's clock, and some latencies came out negative.
 *
 * So: the monotonic clock plus an offset kept in step with `Date.now()`. Each call samples
 * `Date.now() - performance.now()`, a lower bound of the true offset (Date.now() rounds down); the
 * largest sample of the last second or so is the offset to within a fraction of a ms, and follows
 * drift and clock steps. A calibration at first use (waiting for the next ms tick, under 1 ms)
 * makes the first readings exact too.
 */

/** Samples older than one to two windows are forgotten, so the offset follows drift and steps. */
const WINDOW_MS = 500;

class EpochClock {
  private windowStart: number;
  private currentMax: number;
  private previousMax: number;

  constructor() {
    // Right after Date.now() ticks, the wall clock is within microseconds of that whole ms.
    const start = Date.now();
    let now = start;
    while (now === start) now = Date.now();
    const mono = performance.now();
    this.windowStart = mono;
    this.currentMax = now - mono;
    this.previousMax = this.currentMax;
  }

  /** The offset from the monotonic clock to the wall clock, sampling it at `mono`. */
  private offsetAt(mono: number): number {
    const lowerBound = Date.now() - mono;
    if (mono - this.windowStart > WINDOW_MS) {
      this.previousMax = this.currentMax;
      this.currentMax = -Infinity;
      this.windowStart = mono;
    }
    if (lowerBound > this.currentMax) this.currentMax = lowerBound;
    return Math.max(this.currentMax, this.previousMax);
  }

  /** Epoch ms of the monotonic instant `mono` (a `performance.now()` reading of this process). */
  epochAt(mono: number): number {
    return mono + this.offsetAt(performance.now());
  }

  /** The monotonic instant (this process's `performance.now()` scale) of epoch time `epochMs`. */
  monoAt(epochMs: number): number {
    return epochMs - this.offsetAt(performance.now());
  }
}

let clock: EpochClock | undefined;

/** Now, in ms since the epoch, sub-millisecond, consistent with other processes on this machine. */
export function epochNowMs(): number {
  return (clock ??= new EpochClock()).epochAt(performance.now());
}

/** Epoch ms of a `performance.now()` reading taken in this process. */
export function epochMsAt(performanceNow: number): number {
  return (clock ??= new EpochClock()).epochAt(performanceNow);
}

/** The `performance.now()` reading of this process that corresponds to epoch ms `epochMs`. */
export function performanceNowAt(epochMs: number): number {
  return (clock ??= new EpochClock()).monoAt(epochMs);
}
