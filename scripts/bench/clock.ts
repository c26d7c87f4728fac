/**
 * The clock every timestamp in the bench is on. The publisher stamps captureTime as
 * performance.timeOrigin + performance.now() (sub-millisecond, same wall clock); the relay stamps
 * receivedAt with Date.now() (whole milliseconds). All processes share this machine's clock.
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
