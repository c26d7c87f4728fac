/**
 * Keeps a source open: opens it, lets the frame loop read it until it fails, closes it, and opens
 * it again after a growing delay (RetryBackoff). A source that ended for good (a file played
 * once) is not reopened. Says what the source is doing through read-only state and events, for
 * the status and the control limits.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { redactCredentials } from '@camqtt/wire';
import type { RetryBackoff } from './retry-backoff.js';
import { EndOfSourceError, type FrameSource, type SourceInfo } from './sources/frame-source.js';
import { aborted, pause, untilAborted } from './abortable-waits.js';

/**
 * Reads the open source until it fails (throws) or `signal` aborts; calls `delivering` once the
 * first frame came, which resets the retry delay.
 */
export type ReadSource = (signal: AbortSignal, delivering: () => void) => Promise<void>;

export class SourceSupervisor extends EventEmitter<{ opened: [info: SourceInfo]; failed: [error: string] }> {
  private openInfo: SourceInfo | undefined;
  private lastError: string | undefined;

  constructor(
    readonly source: FrameSource,
    private readonly backoff: RetryBackoff,
    private readonly log: Logger,
  ) {
    super();
  }

  /** What the source delivers, while it is open. */
  get info(): SourceInfo | undefined {
    return this.openInfo;
  }

  /** Why the source is not delivering, while it is not. */
  get error(): string | undefined {
    return this.lastError;
  }

  /** Opens, reads (with `read`), closes and reopens the source until `signal` aborts. */
  async run(read: ReadSource, signal: AbortSignal): Promise<void> {
    const delivering = (): void => this.backoff.reset();
    while (!signal.aborted) {
      try {
        this.log.debug({ source: this.source.description }, 'opening source');
        this.openInfo = await this.source.open();
      } catch (error) {
        if (aborted(signal)) break;
        this.failed(error);
        await pause(this.backoff.take(), signal);
        continue;
      }
      this.opened(this.openInfo);
      try {
        await read(signal, delivering);
      } catch (error) {
        if (error instanceof EndOfSourceError) {
          this.ended(error, signal);
          await untilAborted(signal);
        } else if (!aborted(signal)) {
          this.failed(error);
        }
      } finally {
        this.source.close();
        this.openInfo = undefined;
      }
      if (!aborted(signal)) await pause(this.backoff.take(), signal);
    }
  }

  private opened(info: SourceInfo): void {
    this.lastError = undefined;
    this.log.info({ source: this.source.description, ...info }, 'source opened');
    this.emit('opened', info);
  }

  private failed(error: unknown): void {
    // Goes to the log and the retained status; a source's message may quote its URL.
    const message = redactCredentials(error instanceof Error ? error.message : String(error));
    this.lastError = message;
    this.log.error({ source: this.source.description, error: message, retryInMs: this.backoff.nextDelayMs }, 'source failed');
    this.emit('failed', message);
  }

  /** The source is done for good: said in the status, and no retry. */
  private ended(error: EndOfSourceError, signal: AbortSignal): void {
    if (signal.aborted) return;
    this.lastError = error.message;
    this.log.info({ source: this.source.description }, error.message);
    this.emit('failed', error.message);
  }
}
