/**
 * The viewer accounts of VIEWER_USERS_FILE. The file is in Mosquitto's password-file format, the
 * same as the broker's BROKER_USERS_FILE, so `scripts/mqtt-user.ts` and `mosquitto_passwd` write it.
 *
 * It is re-read when it changes (or on SIGHUP). A reload that fails (file missing mid-rename,
 * unreadable) keeps the accounts loaded before, as the broker does, so a botched edit never locks
 * everyone out; a file that reads fine but has fewer users takes effect at once.
 *
 * Only the hashes are held, never a password. Each account has a fingerprint (a digest of its
 * hash line, new salt on every password change) that sessions are signed with: removing an
 * account or changing its password ends its sessions.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ConfigError } from '@camqtt/service-kit';
import { DECOY_HASH, formatPasswordHash, parsePasswordFile, verifyPassword, type PasswordHash } from '@camqtt/service-kit';
import { WatchedFile } from '@camqtt/service-kit';

interface ViewerAccount {
  hash: PasswordHash;
  fingerprint: string;
}

export class ViewerUsers {
  private accounts = new Map<string, ViewerAccount>();
  private watched: WatchedFile | undefined;
  private readonly changeListeners: Array<() => void> = [];
  private readonly log: Logger;

  private constructor(
    readonly path: string,
    log: Logger,
  ) {
    this.log = log.child({ component: 'viewer-users' });
  }

  /** Reads the file once; a file that cannot be read stops the relay with a ConfigError. */
  static async load(path: string, log: Logger): Promise<ViewerUsers> {
    const users = new ViewerUsers(path, log);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `VIEWER_USERS_FILE names a file that cannot be read: ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    }
    users.accounts = users.parse(text);
    return users;
  }

  get size(): number {
    return this.accounts.size;
  }

  has(user: string): boolean {
    return this.accounts.has(user);
  }

  /** The account's current fingerprint, or undefined once it is gone from the file. */
  fingerprint(user: string): string | undefined {
    return this.accounts.get(user)?.fingerprint;
  }

  /**
   * The account's fingerprint if `password` is right, else undefined. PBKDF2 runs on libuv's
   * thread pool, never on the event loop; an unknown user is checked against a decoy hash so it
   * takes as long as a known one and the answer does not reveal who exists.
   */
  async verify(user: string, password: string): Promise<string | undefined> {
    const account = this.accounts.get(user);
    const matches = await verifyPassword(password, account?.hash ?? DECOY_HASH);
    return account !== undefined && matches ? account.fingerprint : undefined;
  }

  /** Called after every successful reload, so open streams can be re-checked against the new accounts. */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  /** Watches the file for changes. */
  start(): void {
    this.watched = new WatchedFile(
      this.path,
      () => void this.reload(),
      (error) => {
        this.log.warn({ file: this.path, err: error }, 'cannot watch the viewer users file; send SIGHUP to reload it');
      },
    );
    this.watched.start();
  }

  stop(): void {
    this.watched?.stop();
    this.watched = undefined;
  }

  async reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      this.log.error({ file: this.path, err: error }, 'viewer users file reload failed; keeping the previous accounts');
      return;
    }
    this.accounts = this.parse(text);
    this.log.info({ file: this.path, users: this.accounts.size }, 'viewer users file reloaded');
    for (const listener of this.changeListeners) listener();
  }

  private parse(text: string): Map<string, ViewerAccount> {
    const { entries, problems } = parsePasswordFile(text);
    for (const problem of problems) this.log.warn({ file: this.path, problem }, 'viewer users file line ignored');
    const accounts = new Map<string, ViewerAccount>();
    for (const [user, hash] of entries) {
      const fingerprint = createHash('sha256')
        .update(`${user}:${formatPasswordHash(hash)}`)
        .digest('base64url');
      accounts.set(user, { hash, fingerprint });
    }
    return accounts;
  }
}
