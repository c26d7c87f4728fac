/**
 * Slows password guessing, per remote address and per user name. Mosquitto has no such limit
 * built in; this plays the role of fail2ban in front of it. Used by the broker and the web relay.
 *
 * - Each address and each user name has a failure count. At FAILURES_BEFORE_BLOCK failures it is
 *   blocked for a while, doubling with each further failure up to MAX_BLOCK_MS: logins it covers
 *   are refused at once, without checking the password, so guesses made during a block are
 *   worthless and cost no hashing. Failures are forgiven FORGIVE_AFTER_MS after the block ends
 *   (not after it starts: a series must not restart with free guesses the moment a block ends).
 * - An attempt counts before its password is checked: `begin` reserves it, and an address or user
 *   with as many attempts in flight as it has failures left is refused until they finish, so 500
 *   parallel guesses get no further than 5 sequential ones.
 * - A success ends only its own attempt. It clears no failures: "guess 9 times at alice, log in
 *   once as yourself, repeat" must not reset the address.
 *
 * Who a user's block applies to (the lockout trade-off): a block on a user name exists to stop
 * guesses spread over many addresses, but anyone can make it happen by guessing at that name, so
 * it must not lock the real user out. It therefore applies only to addresses that have failed at
 * least once themselves (each guessing address gets at most one guess at a blocked user), and
 * never to an address that recently logged in successfully as that user (TRUST_SUCCESS_MS, ended
 * by a failure of that pair). A client that logs in without mistakes is never refused for its
 * user, whatever others guess at the same name; only its own address's failures can block it.
 */
import { addressGroup } from './address-group.js';

export interface LoginThrottleOptions {
  /** Failures of one address, or at one user name, before it is blocked. */
  failuresBeforeBlock: number;
  firstBlockMs: number;
  maxBlockMs: number;
  /** Most addresses remembered, and most user names (each); the least recently failing are forgotten first. */
  maxAddresses: number;
  /** Quiet time after a block ends (or after the last failure, if none) that forgives the failures. Default maxBlockMs. */
  forgiveAfterMs?: number;
  /** How long a success of an address as a user exempts that pair from the user's block. Default 7 days. */
  trustSuccessMs?: number;
  now?: () => number;
}

export const LOGIN_THROTTLE_DEFAULTS: LoginThrottleOptions = {
  failuresBeforeBlock: 5,
  firstBlockMs: 2_000,
  maxBlockMs: 60_000,
  maxAddresses: 10_000,
};

/** An attempt never finished (a caller's bug or a hung check) stops counting as in flight after this. */
const STALE_ATTEMPT_MS = 60_000;
/** What `retryInMs` says when only attempts in flight stand in the way. */
const BUSY_RETRY_MS = 1_000;

interface KeyRecord {
  failures: number;
  blockedUntil: number;
  lastFailure: number;
  /** Start times of attempts checked against this key and not finished yet. */
  inFlight: Set<{ startedAt: number }>;
}

/** Blocks started by a failure, in ms (0: none). */
export interface FailureOutcome {
  addressBlockMs: number;
  userBlockMs: number;
}

/** A login allowed to be checked; report exactly one outcome (later calls are ignored). */
export interface LoginAttempt {
  succeeded(): void;
  failed(): FailureOutcome;
  /** The check itself failed (a server error): the attempt counts neither way. */
  abandoned(): void;
}

export type ThrottleVerdict =
  { blocked: false; attempt: LoginAttempt } | { blocked: true; retryInMs: number; by: 'address' | 'user' | 'in_flight' };

/** A map that remembers at most `max` keys, forgetting the least recently touched. */
class BoundedMap<V> extends Map<string, V> {
  constructor(private readonly max: number) {
    super();
  }

  touch(key: string, value: V): void {
    this.delete(key);
    this.set(key, value);
    while (this.size > this.max) {
      const oldest = this.keys().next().value;
      if (oldest === undefined) return;
      this.delete(oldest);
    }
  }
}

export class LoginThrottle {
  private readonly addresses: BoundedMap<KeyRecord>;
  private readonly users: BoundedMap<KeyRecord>;
  /** `address \n user` -> time of that pair's last success. */
  private readonly trusted: BoundedMap<number>;
  private readonly now: () => number;
  private readonly forgiveAfterMs: number;
  private readonly trustSuccessMs: number;

  constructor(private readonly options: LoginThrottleOptions = LOGIN_THROTTLE_DEFAULTS) {
    this.now = options.now ?? Date.now;
    this.forgiveAfterMs = options.forgiveAfterMs ?? options.maxBlockMs;
    this.trustSuccessMs = options.trustSuccessMs ?? 7 * 24 * 3600_000;
    this.addresses = new BoundedMap(options.maxAddresses);
    this.users = new BoundedMap(options.maxAddresses);
    this.trusted = new BoundedMap(options.maxAddresses);
  }

  /** Whether a login from `address` as `user` may be checked now; if so, it counts as in flight until finished. */
  begin(remoteAddress: string | undefined, user: string | undefined): ThrottleVerdict {
    const address = remoteAddress === undefined ? undefined : addressGroup(remoteAddress);
    const now = this.now();
    const pair = address !== undefined && user !== undefined && user !== '' ? `${address}\n${user}` : undefined;
    const trustedSince = pair === undefined ? undefined : this.trusted.get(pair);
    const trusted = trustedSince !== undefined && now - trustedSince < this.trustSuccessMs;
    const addressRecord = address === undefined ? undefined : this.record(this.addresses, address, now);
    if (addressRecord && addressRecord.blockedUntil > now)
      return { blocked: true, by: 'address', retryInMs: addressRecord.blockedUntil - now };
    // See the file comment: a user's block covers only addresses with failures of their own.
    const suspect = !trusted && (addressRecord === undefined || addressRecord.failures > 0);
    const userRecord = suspect && user !== undefined && user !== '' ? this.record(this.users, user, now) : undefined;
    if (userRecord && userRecord.blockedUntil > now) return { blocked: true, by: 'user', retryInMs: userRecord.blockedUntil - now };
    // A trusted pair is checked at once: its attempts are most likely right, and a wrong one still
    // counts as a failure (and ends the trust).
    const counted = trusted ? [] : [addressRecord, userRecord].filter((record) => record !== undefined);
    for (const record of counted) {
      if (this.inFlight(record, now) >= Math.max(1, this.options.failuresBeforeBlock - record.failures)) {
        return { blocked: true, by: 'in_flight', retryInMs: BUSY_RETRY_MS };
      }
    }
    const token = { startedAt: now };
    for (const record of counted) record.inFlight.add(token);
    let finished = false;
    const finish = (): boolean => {
      if (finished) return false;
      finished = true;
      for (const record of counted) record.inFlight.delete(token);
      return true;
    };
    return {
      blocked: false,
      attempt: {
        succeeded: () => {
          if (finish() && pair !== undefined) this.trusted.touch(pair, this.now());
        },
        failed: () => {
          if (!finish()) return { addressBlockMs: 0, userBlockMs: 0 };
          if (pair !== undefined) this.trusted.delete(pair);
          return {
            addressBlockMs: address === undefined ? 0 : this.recordFailure(this.addresses, address),
            userBlockMs: user === undefined || user === '' ? 0 : this.recordFailure(this.users, user),
          };
        },
        abandoned: () => void finish(),
      },
    };
  }

  /** Addresses remembered now (for tests and metrics). */
  get size(): number {
    return this.addresses.size;
  }

  /** The key's record with old failures forgiven, created (not yet touched) if missing. */
  private record(map: BoundedMap<KeyRecord>, key: string, now: number): KeyRecord {
    let record = map.get(key);
    if (!record) {
      record = { failures: 0, blockedUntil: 0, lastFailure: 0, inFlight: new Set() };
      map.touch(key, record);
    }
    if (record.failures > 0 && now >= Math.max(record.blockedUntil, record.lastFailure) + this.forgiveAfterMs) {
      record.failures = 0;
      record.blockedUntil = 0;
    }
    return record;
  }

  private inFlight(record: KeyRecord, now: number): number {
    for (const token of record.inFlight) if (now - token.startedAt > STALE_ATTEMPT_MS) record.inFlight.delete(token);
    return record.inFlight.size;
  }

  /** Counts a failure; returns the block it started, in ms (0: not blocked yet). */
  private recordFailure(map: BoundedMap<KeyRecord>, key: string): number {
    const now = this.now();
    const record = this.record(map, key, now);
    record.failures += 1;
    record.lastFailure = now;
    map.touch(key, record);
    const over = record.failures - this.options.failuresBeforeBlock;
    if (over < 0) return 0;
    const blockMs = Math.min(this.options.firstBlockMs * 2 ** Math.min(over, 30), this.options.maxBlockMs);
    record.blockedUntil = now + blockMs;
    return blockMs;
  }
}
