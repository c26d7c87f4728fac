/**
 * How long to wait before opening a source again after it failed: doubling from `firstMs` up to
 * `maxMs`, and back to `firstMs` once the source delivers again. Pure: no timers of its own.
 */

export interface RetryLimits {
  firstMs: number;
  maxMs: number;
}

/**
 * A source that blinks is back within a second, one that returns after a while within 2 s: a
 * failed open of a device, file or URL costs next to nothing, so there is no reason to wait longer.
 */
export const SOURCE_RETRY: Readonly<RetryLimits> = { firstMs: 1000, maxMs: 2000 };

export class RetryBackoff {
  private delayMs: number;

  constructor(private readonly limits: RetryLimits = SOURCE_RETRY) {
    this.delayMs = limits.firstMs;
  }

  /** The delay the next take() returns (logged with a failure as `retryInMs`). */
  get nextDelayMs(): number {
    return this.delayMs;
  }

  /** The delay to wait now; the one after it doubles, up to the maximum. */
  take(): number {
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.limits.maxMs);
    return delay;
  }

  /** The source delivers again: the next failure is retried after the first delay. */
  reset(): void {
    this.delayMs = this.limits.firstMs;
  }
}

/**
 * CAMQTT_TEST_SOURCE_RETRY_MS="first,max" (test-only, not a user setting): shorter retry
 * delays, so tests that kill and restart a camera wait less in real time. Anything else, unset
 * included, gives the production delays.
 */
export function sourceRetryFromEnv(value: string | undefined): Readonly<RetryLimits> {
  const [first, max] = (value ?? '').split(',').map(Number);
  if (first === undefined || max === undefined || !(first > 0) || !(max >= first)) return SOURCE_RETRY;
  return { firstMs: first, maxMs: max };
}
