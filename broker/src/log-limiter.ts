/**
 * At most one log line per key per interval, for lines an attacker can cause at will (refused
 * connections): the next line that gets through says how many were left out meanwhile. Keys are
 * a few fixed reasons, never attacker-chosen text, so the map stays small.
 */
export class LogLimiter {
  private readonly last = new Map<string, { at: number; skipped: number }>();

  constructor(
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** undefined: leave this line out; otherwise how many lines of this key were left out before it. */
  take(key: string): number | undefined {
    const now = this.now();
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.intervalMs) {
      seen.skipped += 1;
      return undefined;
    }
    this.last.set(key, { at: now, skipped: 0 });
    return seen?.skipped ?? 0;
  }
}
