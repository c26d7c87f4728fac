/** Waits that end early when the pipeline stops (its AbortSignal). */
import { setTimeout as sleep } from 'node:timers/promises';

/** Waits `ms`; resolves false if aborted first. */
export async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * `signal.aborted`, read through a call: TypeScript keeps a property's narrowing across an await,
 * during which the pipeline may have been stopped.
 */
export function aborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

export function untilAborted(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
