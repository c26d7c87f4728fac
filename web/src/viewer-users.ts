/**
 * The viewer accounts of VIEWER_USERS_FILE. The file is in Mosquitto's password-file format, the
 * same as the broker's BROKER_USERS_FILE, so `scripts/mqtt-user.ts` and `mosquitto_passwd` write it,
 * and it is loaded, watched and checked the broker's way (the service kit's AccountFile).
 *
 * It is re-read when it changes (or on SIGHUP). A reload that fails (file missing mid-rename,
 * unreadable) keeps the accounts loaded before, as the broker does, so a botched edit never locks
 * everyone out; a file that reads fine but has fewer users takes effect at once. Removing an
 * account or changing its password ends its sessions (they are signed with its fingerprint).
 */
import type { Logger } from 'pino';
import { AccountFile, ConfigError } from '@camqtt/service-kit';

/** Reads the file once; a file that cannot be read stops the relay with a ConfigError. */
export async function loadViewerUsers(path: string, log: Logger): Promise<AccountFile> {
  const users = new AccountFile(path, log.child({ component: 'viewer-users' }), {
    reloaded: 'viewer users file reloaded',
    reloadFailed: 'viewer users file reload failed; keeping the previous accounts',
    cannotWatch: 'cannot watch the viewer users file; send SIGHUP to reload it',
    lineRefused: 'viewer users file line ignored',
  });
  try {
    await users.load();
  } catch (error) {
    throw new ConfigError(
      `VIEWER_USERS_FILE names a file that cannot be read: ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  return users;
}
