/**
 * Calls back when a file changes. Watches the file's directory rather than the file itself:
 * editors and `scripts/mqtt-user.ts` replace a file by renaming a new one over it, which a watch
 * on the old inode would never report.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/** Several events arrive for one save; wait this long (ms) for them to settle. */
const SETTLE_MS = 100;

export class WatchedFile {
  private watcher: FSWatcher | undefined;
  private settleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly path: string,
    private readonly onChange: () => void,
    private readonly onError: (error: Error) => void,
  ) {}

  start(): void {
    const name = basename(this.path);
    this.watcher = watch(dirname(this.path), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(this.settleTimer);
      this.settleTimer = setTimeout(this.onChange, SETTLE_MS);
    });
    this.watcher.on('error', this.onError);
  }

  stop(): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }
}
