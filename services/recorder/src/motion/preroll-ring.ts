/**
 * The last RECORD_PREROLL_S (and the time motion takes to confirm) of one camera's frames, in memory, so a motion recording can start
 * before the motion did. Bounded by age, by count and by bytes: a camera sending huge or very many
 * frames loses its oldest pre-roll frames, never the recorder's memory. (A plain array: at most a
 * few hundred entries, shifted from the front.)
 */

export interface RingFrame {
  jpeg: Uint8Array;
  /** ms since the epoch, from the frame's metadata. */
  captureTime: number;
}

export interface PrerollLimits {
  /** RECORD_PREROLL_S in ms: frames older than this before the newest are dropped. */
  ageMs: number;
  maxFrames: number;
  maxBytes: number;
}

/** 60 fps for the longest pre-roll; a camera sending more keeps the newest of them. */
export const PREROLL_MAX_FPS = 60;
/** Per camera: five seconds of 1080p JPEGs at 30 fps fit with room to spare. */
export const PREROLL_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Limits for a pre-roll of `prerollS` before a motion that is confirmed up to `confirmMs` after it
 * began (the ring is read at the confirmation, and must still hold the frames before the start).
 */
export function prerollLimits(prerollS: number, confirmMs: number): PrerollLimits {
  if (prerollS <= 0) return { ageMs: 0, maxFrames: 0, maxBytes: 0 };
  const ageMs = prerollS * 1000 + confirmMs;
  return { ageMs, maxFrames: Math.ceil((ageMs / 1000) * PREROLL_MAX_FPS), maxBytes: PREROLL_MAX_BYTES };
}

export class PrerollRing {
  private frames: RingFrame[] = [];
  private bytes = 0;

  constructor(private readonly limits: PrerollLimits) {}

  get size(): number {
    return this.frames.length;
  }

  get byteLength(): number {
    return this.bytes;
  }

  push(frame: RingFrame): void {
    if (this.limits.ageMs <= 0) return;
    const newest = this.frames.at(-1);
    // A camera whose clock went back (restart, NTP step) starts a new ring: the old frames would play out of order.
    if (newest && frame.captureTime < newest.captureTime) this.clear();
    this.frames.push(frame);
    this.bytes += frame.jpeg.byteLength;
    this.trim(frame.captureTime);
  }

  /** The frames from `since` (a capture time) on, oldest first, handed over and removed. */
  takeSince(since: number): RingFrame[] {
    const taken = this.frames.filter((frame) => frame.captureTime >= since);
    this.clear();
    return taken;
  }

  clear(): void {
    this.frames = [];
    this.bytes = 0;
  }

  private trim(newest: number): void {
    let drop = 0;
    let bytes = this.bytes;
    while (
      drop < this.frames.length - 1 &&
      (newest - this.frames[drop]!.captureTime > this.limits.ageMs ||
        this.frames.length - drop > this.limits.maxFrames ||
        bytes > this.limits.maxBytes)
    ) {
      bytes -= this.frames[drop]!.jpeg.byteLength;
      drop += 1;
    }
    if (drop === 0) return;
    this.frames.splice(0, drop);
    this.bytes = bytes;
  }
}
