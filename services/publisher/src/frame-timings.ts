/**
 * Running sums of per-frame costs between two status periods, for the periodic "pipeline stats"
 * debug log. Pure: the caller measures, this adds up.
 */

/** Sums since the last take() (ms). */
export interface PipelineTimings {
  reads: number;
  /** Time in source.read(), over all reads (a live source is read more often than published). */
  grabMs: number;
  /** Frames encoded and offered; the other sums are over these. */
  frames: number;
  passedThrough: number;
  encodeMs: number;
  /** Grab returned -> frame offered to the gate. */
  grabToOfferMs: number;
}

export class FrameTimings {
  private sums: PipelineTimings = emptyTimings();

  /** One source.read() that took `grabMs`. */
  recordRead(grabMs: number): void {
    this.sums.reads += 1;
    this.sums.grabMs += grabMs;
  }

  /** One frame offered for publishing. */
  recordFrame(frame: { passedThrough: boolean; encodeMs: number; grabToOfferMs: number }): void {
    this.sums.frames += 1;
    if (frame.passedThrough) this.sums.passedThrough += 1;
    this.sums.encodeMs += frame.encodeMs;
    this.sums.grabToOfferMs += frame.grabToOfferMs;
  }

  /** Takes the sums and starts again from zero. */
  take(): PipelineTimings {
    const taken = this.sums;
    this.sums = emptyTimings();
    return taken;
  }
}

function emptyTimings(): PipelineTimings {
  return { reads: 0, frames: 0, passedThrough: 0, grabMs: 0, encodeMs: 0, grabToOfferMs: 0 };
}
