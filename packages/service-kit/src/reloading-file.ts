/**
 * A file loaded at start and re-read whenever it changes (see watched-file.ts) or on `reload()`
 * (SIGHUP, for file systems where watching does not work). A reload that fails (the file missing
 * mid-rename, unreadable, not parsing) keeps what was loaded before in force, so a botched edit
 * never takes away what worked.
 */
import { readFile } from 'node:fs/promises';
import { WatchedFile } from './watched-file.js';

/** What a reloading file logs through; a pino Logger is one. */
export interface FileLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** The log lines a reloading file writes: each service words them for its own file. */
export interface ReloadingFileMessages {
  /** Info line after the first load; undefined: none. */
  loaded?: string;
  reloaded: string;
  reloadFailed: string;
  cannotWatch: string;
}

export abstract class ReloadingFile<T> {
  protected current: T;
  private watched: WatchedFile | undefined;

  /** @param path undefined: no file, so there is nothing to load, watch or reload */
  constructor(
    readonly path: string | undefined,
    protected readonly log: FileLog,
    empty: T,
    private readonly messages: ReloadingFileMessages,
  ) {
    this.current = empty;
  }

  /** Parses the file's text; throws with a message naming what is wrong. */
  protected abstract parse(text: string): T;
  /** Called after a reload replaced `previous` with `this.current`. */
  protected changed(_previous: T): void {}
  /** Fields for the loaded and reloaded lines, e.g. `{ users: 3 }`. */
  protected abstract describe(value: T): Record<string, unknown>;

  /** Reads and parses the file; throws what reading or parsing throws (the caller decides how fatal that is). */
  async load(): Promise<void> {
    if (this.path === undefined) return;
    this.current = this.parse(await readFile(this.path, 'utf8'));
    if (this.messages.loaded) this.log.info({ file: this.path, ...this.describe(this.current) }, this.messages.loaded);
  }

  /** Re-reads the file whenever it changes, until `stop()`. */
  watch(): void {
    if (this.path === undefined) return;
    const path = this.path;
    this.watched = new WatchedFile(
      path,
      () => void this.reload(),
      (error) => {
        this.log.warn({ file: path, err: error }, this.messages.cannotWatch);
      },
    );
    this.watched.start();
  }

  /** Re-reads the file; on failure logs and keeps what was loaded before. */
  async reload(): Promise<void> {
    if (this.path === undefined) return;
    const previous = this.current;
    try {
      this.current = this.parse(await readFile(this.path, 'utf8'));
    } catch (error) {
      this.log.error({ file: this.path, err: error }, this.messages.reloadFailed);
      return;
    }
    this.log.info({ file: this.path, ...this.describe(this.current) }, this.messages.reloaded);
    this.changed(previous);
  }

  stop(): void {
    this.watched?.stop();
    this.watched = undefined;
  }
}
