/**
 * A camera's send time, written into the picture itself so it survives what the publisher does to
 * a frame (decode, resize, re-encode, H.264): the bench's cameras (fixtures/) write it, the bench's
 * decoding viewers read it back and time camera -> decoded picture.
 *
 * Layout, in the top rows: the width is cut into STAMP_COLUMNS square blocks (side width / 40).
 * Blocks 0 and 1 are white and black (without them a frame carries no stamp); blocks 2 to 33 hold
 * the send time, ms since the epoch modulo 2^32, most significant bit first, white for 1.
 * Black/white blocks of 16 px or more come through JPEG at quality 60 and a 1080p -> 720p resize.
 */
export const STAMP_COLUMNS = 40;
export const STAMP_BITS = 32;
const MODULUS = 2 ** STAMP_BITS;

/**
 * The send time stamped into a decoded frame, or undefined if it carries none. `luma(x, y)` reads
 * one pixel's brightness (0-255); `nowMs` (the reader's clock, ms since the epoch) restores the
 * bits above the 32 stamped.
 */
export function readFrameStamp(luma: (x: number, y: number) => number, width: number, nowMs: number): number | undefined {
  const side = width / STAMP_COLUMNS;
  const centre = (block: number): number => luma(Math.floor((block + 0.5) * side), Math.floor(side / 2));
  if (!(centre(0) > 160 && centre(1) < 96)) return undefined;
  let stamped = 0;
  for (let bit = 0; bit < STAMP_BITS; bit += 1) stamped = stamped * 2 + (centre(bit + 2) > 128 ? 1 : 0);
  const now = Math.floor(nowMs);
  const age = (((now - stamped) % MODULUS) + MODULUS) % MODULUS;
  return now - age;
}

/** Which blocks are white for a send time: the writer's side, for the fixtures and tests. */
export function stampBlocks(sendTimeMs: number): boolean[] {
  const value = Math.floor(sendTimeMs) % MODULUS;
  const bits = Array.from({ length: STAMP_BITS }, (_, i) => Math.floor(value / 2 ** (STAMP_BITS - 1 - i)) % 2 === 1);
  return [true, false, ...bits];
}
