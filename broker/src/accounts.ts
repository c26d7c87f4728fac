/**
 * The broker's accounts (a Mosquitto password file) and access rules (a Mosquitto ACL file),
 * each re-read when its file changes or on `reload()` (SIGHUP), so adding a user needs no
 * restart. A file that fails to load on reload keeps the previous contents in force.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { AccessRules } from './acl.js';
import { DECOY_HASH, formatPasswordHash, parsePasswordFile, verifyPassword, type PasswordHash } from '@camqtt/service-kit';
import { WatchedFile } from '@camqtt/service-kit';

/** A file loaded at start and again whenever it changes. */
abstract class ReloadingFile<T> {
  protected current: T;
  private watched: WatchedFile | undefined;

  constructor(
    readonly path: string | undefined,
    protected readonly log: Logger,
    empty: T,
  ) {
    this.current = empty;
  }

  /** Parses the file's text; throws with a message naming what is wrong. */
  protected abstract parse(text: string): T;
  /** Called after a reload replaced `previous` with `this.current`. */
  protected changed(_previous: T): void {}
  protected abstract describe(value: T): Record<string, unknown>;

  /** Loads the file (a failure here is fatal: the broker must not start with half its config). */
  async start(): Promise<void> {
    if (this.path === undefined) return;
    this.current = this.parse(await readFile(this.path, 'utf8'));
    this.log.info({ file: this.path, ...this.describe(this.current) }, 'loaded');
    this.watched = new WatchedFile(
      this.path,
      () => void this.reload(),
      (error) => {
        this.log.warn({ file: this.path, err: error }, 'cannot watch file; use SIGHUP to reload');
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
      this.log.info({ file: this.path, ...this.describe(this.current) }, 'reloaded');
    } catch (error) {
      this.log.error({ file: this.path, err: error }, 'reload failed; keeping the previous contents');
      return;
    }
    this.changed(previous);
  }

  stop(): void {
    this.watched?.stop();
    this.watched = undefined;
  }
}

function sameHash(a: PasswordHash | undefined, b: PasswordHash | undefined): boolean {
  return a !== undefined && b !== undefined && formatPasswordHash(a) === formatPasswordHash(b);
}

export class AccountStore extends ReloadingFile<Map<string, PasswordHash>> {
  private readonly revokedListeners: Array<(usernames: ReadonlySet<string>) => void> = [];

  constructor(path: string | undefined, log: Logger) {
    super(path, log.child({ component: 'users' }), new Map());
  }

  /** `listener` gets the accounts a reload removed or gave a new password (their logins no longer hold). */
  onRevoked(listener: (usernames: ReadonlySet<string>) => void): void {
    this.revokedListeners.push(listener);
  }

  protected override changed(previous: Map<string, PasswordHash>): void {
    const revoked = new Set([...previous].filter(([user, hash]) => !sameHash(this.current.get(user), hash)).map(([user]) => user));
    if (revoked.size === 0) return;
    this.log.info({ file: this.path, users: [...revoked] }, 'accounts removed or password changed');
    for (const listener of this.revokedListeners) listener(revoked);
  }

  protected parse(text: string): Map<string, PasswordHash> {
    const { entries, problems } = parsePasswordFile(text);
    for (const problem of problems) this.log.warn({ file: this.path, problem }, 'users file line refused');
    return entries;
  }

  protected describe(value: Map<string, PasswordHash>): Record<string, unknown> {
    return { users: value.size };
  }

  get usernames(): string[] {
    return [...this.current.keys()];
  }

  has(username: string): boolean {
    return this.current.has(username);
  }

  /** True if the password is right. Unknown users cost the same time as known ones. */
  async verify(username: string, password: string): Promise<boolean> {
    const stored = this.current.get(username);
    const matches = await verifyPassword(password, stored ?? DECOY_HASH);
    // A reload while the hash was computed may have revoked the entry: only the one in force counts.
    return matches && sameHash(this.current.get(username), stored);
  }
}

export class AclStore extends ReloadingFile<AccessRules> {
  constructor(path: string | undefined, log: Logger) {
    super(path, log.child({ component: 'acl' }), AccessRules.none);
  }

  protected parse(text: string): AccessRules {
    return AccessRules.parse(text);
  }

  protected describe(value: AccessRules): Record<string, unknown> {
    return { users: value.userRules.size, patterns: value.patternRules.length };
  }

  get rules(): AccessRules {
    return this.current;
  }
}
