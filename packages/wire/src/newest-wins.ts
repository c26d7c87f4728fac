/**
 * Decision 3 of the design, as one small class: at every hop the newest frame wins. One item is in
 * flight at a time; what arrives meanwhile replaces the single pending item, so nothing queues
 * behind a busy socket and a slow consumer only ever costs itself frames.
 *
 * Used by the publisher (frames waiting for the MQTT socket) and the relay (frames waiting for a
 * viewer's WebSocket). No Node APIs: the page may use it too.
 */
export class NewestWinsGate<T> {
  private busy = false;
  private pending: T | undefined;
  /** Items handed to `deliver`. */
  delivered = 0;
  /** Items replaced by a newer one before they could be delivered. */
  replaced = 0;

  /**
   * @param deliver starts delivering one item and calls `done` once the next may go (for a socket:
   *   when the write was taken, not when it was acknowledged).
   */
  constructor(private readonly deliver: (item: T, done: () => void) => void) {}

  /** True while an item is being delivered. */
  get inFlight(): boolean {
    return this.busy;
  }

  offer(item: T): void {
    if (this.busy) {
      if (this.pending !== undefined) this.replaced += 1;
      this.pending = item;
      return;
    }
    this.start(item);
  }

  /** Forgets the pending item (e.g. the connection went away); returns whether there was one. */
  dropPending(): boolean {
    const had = this.pending !== undefined;
    if (had) this.replaced += 1;
    this.pending = undefined;
    return had;
  }

  private start(item: T): void {
    this.busy = true;
    this.delivered += 1;
    let finished = false;
    this.deliver(item, () => {
      // A transport may report completion twice (e.g. callback and error); only the first counts.
      if (finished) return;
      finished = true;
      this.busy = false;
      const next = this.pending;
      if (next !== undefined) {
        this.pending = undefined;
        this.start(next);
      }
    });
  }
}
