/**
 * Recognises frames that arrive late, in a burst: frames a camera's connection held back and then
 * delivered all at once, seconds old. After a network drop of a few seconds, the publisher's
 * kernel send buffer (4 MB here, ~70 frames at 640x480) reaches the broker in well under a second;
 * shown, they would replay the past at fast-forward before the live picture. Newest wins: viewers
 * should jump straight back to live, so the relay drops them.
 *
 * The camera's clock need not agree with the relay's: what is compared is each frame's delay
 * (received - captured, clock offset included) with the smallest delay seen from that camera in
 * the last 10-20 s. A frame more than STALE_AFTER_MS over it is stale. Should every frame stay
 * that late for longer than a burst lasts (the camera's clock was set, or it runs elsewhere now),
 * the new delay is taken as normal.
 */

/** How far over a camera's usual delay a frame counts as stale: well above network jitter. */
export const STALE_AFTER_MS = 1000;
/** A run of stale frames longer than this is a new normal, not a burst. */
export const BASELINE_RESET_MS = 3000;
/** The usual delay is the smallest of the current and the previous window of this length. */
const WINDOW_MS = 10_000;

class CameraDelay {
  private windowStart = -Infinity;
  private currentMin = Infinity;
  private previousMin = Infinity;
  /** Receive time of the first frame of the current run of stale frames. */
  private staleSince: number | undefined;

  constructor(private readonly baselineResetMs: number) {}

  /** How far behind the usual delay a frame is, or 0 if it is on time. */
  lateness(delay: number, receivedAt: number): number {
    const usual = Math.min(this.currentMin, this.previousMin);
    const late = delay - usual;
    if (late > STALE_AFTER_MS) {
      this.staleSince ??= receivedAt;
      if (receivedAt - this.staleSince < this.baselineResetMs) return late;
      this.currentMin = this.previousMin = Infinity;
    }
    this.staleSince = undefined;
    if (receivedAt - this.windowStart > WINDOW_MS) {
      this.previousMin = this.currentMin;
      this.currentMin = Infinity;
      this.windowStart = receivedAt;
    }
    if (delay < this.currentMin) this.currentMin = delay;
    return 0;
  }
}

export class StaleFrameFilter {
  private readonly cameras = new Map<string, CameraDelay>();

  /** @param baselineResetMs how long a camera's frames may stay late before that is its new normal (tests lower it) */
  constructor(private readonly baselineResetMs = BASELINE_RESET_MS) {}

  /**
   * How many ms later than usual a frame captured at `captureTime` (camera clock) and received at
   * `receivedAt` (relay clock) arrived, if that makes it stale; 0 for a frame to show.
   */
  staleBy(camera: string, captureTime: number, receivedAt: number): number {
    let delay = this.cameras.get(camera);
    if (!delay) this.cameras.set(camera, (delay = new CameraDelay(this.baselineResetMs)));
    return delay.lateness(receivedAt - captureTime, receivedAt);
  }

  forget(camera: string): void {
    this.cameras.delete(camera);
  }
}
