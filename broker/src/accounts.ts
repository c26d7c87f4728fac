/**
 * The broker's accounts (a Mosquitto password file) and access rules (a Mosquitto ACL file),
 * each re-read when its file changes or on `reload()` (SIGHUP), so adding a user needs no
 * restart. A file that fails to load on reload keeps the previous contents in force. Loading,
 * watching and checking passwords is the service kit's (AccountFile, ReloadingFile), shared with
 * the relay's viewer accounts.
 */
import type { Logger } from 'pino';
import { AccountFile, ReloadingFile, type ReloadingFileMessages } from '@camqtt/service-kit';
import { AccessRules } from './acl.js';

const MESSAGES: ReloadingFileMessages = {
  loaded: 'loaded',
  reloaded: 'reloaded',
  reloadFailed: 'reload failed; keeping the previous contents',
  cannotWatch: 'cannot watch file; use SIGHUP to reload',
};

/** Loads the file (a failure here is fatal: the broker must not start with half its config), then watches it. */
async function startWatching(file: ReloadingFile<unknown>): Promise<void> {
  await file.load();
  file.watch();
}

export class AccountStore extends AccountFile {
  constructor(path: string | undefined, log: Logger) {
    const users = log.child({ component: 'users' });
    super(path, users, { ...MESSAGES, lineRefused: 'users file line refused' });
    this.onRevoked((usernames) => users.info({ file: this.path, users: [...usernames] }, 'accounts removed or password changed'));
  }

  async start(): Promise<void> {
    await startWatching(this);
  }
}

export class AclStore extends ReloadingFile<AccessRules> {
  constructor(path: string | undefined, log: Logger) {
    super(path, log.child({ component: 'acl' }), AccessRules.none, MESSAGES);
  }

  async start(): Promise<void> {
    await startWatching(this);
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
