/**
 * Slows password guessing per remote address. After FAILURES_BEFORE_BLOCK failed logins in a row
 * from one address, that address is blocked for a while (doubling with each further failure, up to
 * MAX_BLOCK_MS): every login from it is refused at once, without checking the password, so guesses
 * made during a block are worthless and cost the broker no hashing. A successful login clears the
 * address. Mosquitto has no such limit built in; this plays the role of fail2ban in front of it.
 */

export interface LoginThrottleOptions {
  failuresBeforeBlock: number;
  firstBlockMs: number;
  maxBlockMs: number;
  /** Most addresses remembered; the least recently failing are forgotten first. */
  maxAddresses: number;
  now?: () => number;
}

export const LOGIN_THROTTLE_DEFAULTS: LoginThrottleOptions = {
  failuresBeforeBlock: 5,
  firstBlockMs: 2_000,
  maxBlockMs: 60_000,
  maxAddresses: 10_000,
};

interface AddressRecord {
  failures: number;
  blockedUntil: number;
  lastFailure: number;
}

export type ThrottleVerdict = { blocked: false } | { blocked: true; retryInMs: number };

export class LoginThrottle {
  /** Map order is insertion order; a record is re-inserted on each failure, so the first is the stalest. */
  private readonly records = new Map<string, AddressRecord>();
  private readonly now: () => number;

  constructor(private readonly options: LoginThrottleOptions = LOGIN_THROTTLE_DEFAULTS) {
    this.now = options.now ?? Date.now;
  }

  /** Whether a login from `address` may be checked now. */
  check(address: string | undefined): ThrottleVerdict {
    if (address === undefined) return { blocked: false };
    const record = this.records.get(address);
    const now = this.now();
    if (!record || record.blockedUntil <= now) return { blocked: false };
    return { blocked: true, retryInMs: record.blockedUntil - now };
  }

  /** Records a failed login; returns the block it started, in ms (0: not blocked yet). */
  recordFailure(address: string | undefined): number {
    if (address === undefined) return 0;
    const now = this.now();
    const record = this.records.get(address) ?? { failures: 0, blockedUntil: 0, lastFailure: now };
    // A quiet spell as long as the longest block forgives earlier failures.
    if (now - record.lastFailure > this.options.maxBlockMs) record.failures = 0;
    record.failures += 1;
    record.lastFailure = now;
    let blockMs = 0;
    const over = record.failures - this.options.failuresBeforeBlock;
    if (over >= 0) {
      blockMs = Math.min(this.options.firstBlockMs * 2 ** Math.min(over, 30), this.options.maxBlockMs);
      record.blockedUntil = now + blockMs;
    }
    this.records.delete(address);
    this.records.set(address, record);
    this.forgetOldest();
    return blockMs;
  }

  recordSuccess(address: string | undefined): void {
    if (address !== undefined) this.records.delete(address);
  }

  /** Addresses remembered now (for tests and metrics). */
  get size(): number {
    return this.records.size;
  }

  private forgetOldest(): void {
    while (this.records.size > this.options.maxAddresses) {
      const oldest = this.records.keys().next().value;
      if (oldest === undefined) return;
      this.records.delete(oldest);
    }
  }
}
