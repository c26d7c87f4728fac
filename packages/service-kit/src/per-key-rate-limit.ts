/**
 * Lets one event per key through per window and counts the rest: for log lines that a camera
 * publishing garbage at 30 fps, or an attacker refused at will, could cause. One line a window,
 * which still says how many were held back. The relay and the broker share it.
 */
export class PerKeyRateLimit {
  private readonly lastAllowed = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly windowMs: number) {}

  /** `allowed` says whether to act now; `suppressed` is how many were held back since the last time. */
  take(key: string, now = Date.now()): { allowed: boolean; suppressed: number } {
    const entry = this.lastAllowed.get(key);
    if (entry && now - entry.at < this.windowMs) {
      entry.suppressed += 1;
      return { allowed: false, suppressed: entry.suppressed };
    }
    this.lastAllowed.set(key, { at: now, suppressed: 0 });
    this.forgetExpired(now);
    return { allowed: true, suppressed: entry?.suppressed ?? 0 };
  }

  /** Keys come from topic names anyone may publish to: keep the map from growing without bound. */
  private forgetExpired(now: number): void {
    if (this.lastAllowed.size < 1000) return;
    for (const [key, entry] of this.lastAllowed) {
      if (now - entry.at >= this.windowMs) this.lastAllowed.delete(key);
    }
  }
}
