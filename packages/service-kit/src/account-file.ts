/**
 * Accounts from a Mosquitto password file (the broker's BROKER_USERS_FILE, the relay's
 * VIEWER_USERS_FILE), re-read when it changes (see reloading-file.ts). Only the hashes are held,
 * never a password.
 *
 * Each account has a fingerprint, a digest of its hash line (a new salt on every password
 * change): a login remembered by fingerprint (the relay's session cookies, its open streams) no
 * longer holds once the account is removed or its password changed. Those accounts are "revoked"
 * by the reload, and `onRevoked` listeners are told which.
 */
import { createHash } from 'node:crypto';
import { DECOY_HASH, formatPasswordHash, parsePasswordFile, verifyPassword, type PasswordHash } from './password-file.js';
import { ReloadingFile, type FileLog, type ReloadingFileMessages } from './reloading-file.js';

interface Account {
  hash: PasswordHash;
  fingerprint: string;
}

export interface AccountFileMessages extends ReloadingFileMessages {
  /** Warning for a line that does not parse or names a user twice (that user is refused). */
  lineRefused: string;
}

export class AccountFile extends ReloadingFile<Map<string, Account>> {
  private readonly revokedListeners: Array<(users: ReadonlySet<string>) => void> = [];
  private readonly lineRefused: string;

  constructor(path: string | undefined, log: FileLog, messages: AccountFileMessages) {
    super(path, log, new Map(), messages);
    this.lineRefused = messages.lineRefused;
  }

  get size(): number {
    return this.current.size;
  }

  get usernames(): string[] {
    return [...this.current.keys()];
  }

  has(user: string): boolean {
    return this.current.has(user);
  }

  /** The account's current fingerprint, or undefined once it is gone from the file. */
  fingerprint(user: string): string | undefined {
    return this.current.get(user)?.fingerprint;
  }

  /**
   * Whether `password` is right for `user`. PBKDF2 runs on libuv's thread pool, never on the
   * event loop; an unknown user is checked against a decoy hash so it takes as long as a known
   * one and the answer does not reveal who exists. A reload while the hash was computed may have
   * revoked the account: only the one still in force counts, so on true `fingerprint(user)` is
   * the fingerprint of the account the password was checked against.
   */
  async verify(user: string, password: string): Promise<boolean> {
    const account = this.current.get(user);
    const matches = await verifyPassword(password, account?.hash ?? DECOY_HASH);
    return matches && account !== undefined && this.fingerprint(user) === account.fingerprint;
  }

  /** `listener` gets the accounts a reload removed or gave a new password; called only when there are some. */
  onRevoked(listener: (users: ReadonlySet<string>) => void): void {
    this.revokedListeners.push(listener);
  }

  protected override changed(previous: Map<string, Account>): void {
    const revoked = new Set(
      [...previous].filter(([user, account]) => this.fingerprint(user) !== account.fingerprint).map(([user]) => user),
    );
    if (revoked.size === 0) return;
    for (const listener of this.revokedListeners) listener(revoked);
  }

  protected parse(text: string): Map<string, Account> {
    const { entries, problems } = parsePasswordFile(text);
    for (const problem of problems) this.log.warn({ file: this.path, problem }, this.lineRefused);
    const accounts = new Map<string, Account>();
    for (const [user, hash] of entries) accounts.set(user, { hash, fingerprint: fingerprintOf(user, hash) });
    return accounts;
  }

  protected describe(value: Map<string, Account>): Record<string, unknown> {
    return { users: value.size };
  }
}

function fingerprintOf(user: string, hash: PasswordHash): string {
  return createHash('sha256')
    .update(`${user}:${formatPasswordHash(hash)}`)
    .digest('base64url');
}
