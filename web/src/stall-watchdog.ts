/**
 * Cuts off viewers whose connection takes nothing: the same rule for WebSocket viewers and MJPEG
 * clients. Each connection keeps a WriteProgress, told when a write starts and when one
 * finishes; a connection with a write pending and none finishing for longer than the stall limit
 * is handed to `onStalled` (which terminates it). A viewer that does not read stops completing
 * writes; the newest-wins gates meanwhile drop its frames, so it costs nobody else anything.
 */

/** A viewer whose connection takes nothing for this long is gone as far as we care. */
export const STALL_LIMIT_MS = 10_000;
/** How often connections are checked, at most: a stall is noticed within this much of the limit. */
const CHECK_INTERVAL_MS = 1_000;

/** Whether a connection's writes are getting anywhere. */
export class WriteProgress {
  private writesInFlight = 0;
  /** Since when the oldest unfinished write has been waiting with no write finishing. */
  private blockedSince: number | undefined;

  started(now = Date.now()): void {
    this.writesInFlight += 1;
    this.blockedSince ??= now;
  }

  /** Any finished write is progress: the stall clock restarts from here. */
  finished(now = Date.now()): void {
    this.writesInFlight = Math.max(0, this.writesInFlight - 1);
    this.blockedSince = this.writesInFlight > 0 ? now : undefined;
  }

  /** ms the connection has taken nothing while it had something to take; 0 when it is keeping up. */
  blockedFor(now = Date.now()): number {
    return this.blockedSince === undefined ? 0 : now - this.blockedSince;
  }
}

export class StallWatchdog<Connection extends { readonly progress: WriteProgress }> {
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param connections the connections to watch, looked at on every check
   * @param onStalled told of each connection blocked longer than `limitMs`, with how long
   * @param limitMs the stall limit; tests set it lower (see main.ts)
   */
  constructor(
    private readonly connections: () => Iterable<Connection>,
    private readonly onStalled: (connection: Connection, blockedMs: number) => void,
    readonly limitMs = STALL_LIMIT_MS,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), Math.min(CHECK_INTERVAL_MS, Math.max(10, this.limitMs / 4)));
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Hands every connection blocked for longer than the limit to `onStalled`. */
  check(now = Date.now()): void {
    for (const connection of this.connections()) {
      const blockedMs = connection.progress.blockedFor(now);
      if (blockedMs > this.limitMs) this.onStalled(connection, blockedMs);
    }
  }
}
