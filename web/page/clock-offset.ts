/**
 * How far the browser's clock is ahead of the relay's, so latency stays right when the page runs
 * on another machine than the relay (a phone whose clock is seconds off).
 *
 * Each sample is `browserNow - relayTime` for a message the relay stamped (hello.serverTime, each
 * frame's receivedAt): the clock offset plus that message's trip to the browser. The smallest
 * recent sample is the one with the shortest trip, so it is the best estimate of the offset alone
 * (it still includes the fastest trip, a few ms on a LAN). Samples expire so a clock that is
 * adjusted (NTP) is followed within OFFSET_WINDOW_MS.
 */
const BUCKET_MS = 5_000;
const OFFSET_WINDOW_MS = 30_000;

export class ClockOffset {
  /** Min sample per 5-s bucket: constant memory however many frames arrive. */
  private readonly buckets = new Map<number, number>();
  private cached: number | undefined;

  /** ms the browser clock is ahead of the relay's; 0 until the first sample. */
  get offset(): number {
    return this.cached ?? 0;
  }

  sample(relayTime: number, browserNow = Date.now()): void {
    const bucket = Math.floor(browserNow / BUCKET_MS);
    const value = browserNow - relayTime;
    const current = this.buckets.get(bucket);
    if (current !== undefined && current <= value) return;
    this.buckets.set(bucket, value);
    const oldest = Math.floor((browserNow - OFFSET_WINDOW_MS) / BUCKET_MS);
    for (const key of this.buckets.keys()) if (key < oldest) this.buckets.delete(key);
    this.cached = Math.min(...this.buckets.values());
  }

  /** Browser time -> relay time. */
  toRelayTime(browserTime: number): number {
    return browserTime - this.offset;
  }
}
