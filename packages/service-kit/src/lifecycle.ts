/**
 * How a camqtt service listens, waits with a limit, and stops: the same in the broker, the
 * publisher and the relay, so `docker stop` and Ctrl-C end each one the same way.
 */
import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface StopLog {
  info(fields: object, message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(fields: object, message: string): void;
}

export interface StopOnSignalsOptions {
  log: StopLog;
  /** Stops everything the service started; the process exits when it settles. */
  stop: () => Promise<void>;
  /** Exit anyway after this long (docker stop sends SIGKILL after 10 s). */
  deadlineMs: number;
  /** SIGHUP: re-read files (accounts, rules) without a restart. */
  reload?: () => Promise<void>;
  /** What SIGHUP reloads, for its log line ("SIGHUP: reloading <what>"). */
  reloads?: string;
}

/**
 * SIGTERM and SIGINT stop the service once (a second signal while stopping is ignored) and exit
 * with 0, or 1 when stopping failed; the deadline exits even if a stop hangs.
 */
export function stopOnSignals({ log, stop, deadlineMs, reload, reloads = 'files' }: StopOnSignalsOptions): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    setTimeout(() => {
      log.warn('stopping took too long; exiting anyway');
      process.exit(0);
    }, deadlineMs).unref();
    stop().then(
      () => {
        // pino writes stdout synchronously by default, so the last lines are out already.
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (reload) {
    process.on('SIGHUP', () => {
      log.info(`SIGHUP: reloading ${reloads}`);
      reload().catch((error: unknown) => log.error({ err: error }, 'reload failed'));
    });
  }
}

/** Listens on `port` (0: any free one) and resolves with the port, or rejects with the listen error. */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Stops accepting and resolves once every connection has ended (`dropConnections`: end them now). */
export async function closeServer(server: Server & { closeAllConnections?: () => void }, dropConnections = false): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if (dropConnections) server.closeAllConnections?.();
  await closed;
}

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * `work`, or a TimeoutError naming `what` after `ms`. The work itself goes on (a promise cannot be
 * cancelled): pass an AbortSignal to it where it takes one.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits for `work` at most `ms`: true if it settled in time (a rejection still rejects), false if
 * not. For stopping, where a step that hangs must not hold the rest back.
 */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<boolean> {
  try {
    await withTimeout(work, ms, 'work');
    return true;
  } catch (error) {
    if (error instanceof TimeoutError) return false;
    throw error;
  }
}
