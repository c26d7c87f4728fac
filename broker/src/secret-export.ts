/**
 * Hands each client service only its own secrets (BROKER_PROVISION_EXPORT, `user:folder,...`):
 * the provisioned password of that one account as `<folder>/password` and the CA certificate as
 * `<folder>/ca.crt`. docker compose mounts each folder into one service, so the publisher (which
 * parses untrusted streams through FFmpeg) never sees the relay's password, and the CA key never
 * leaves the broker. Rewritten at every start, so a folder follows the provision folder.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '@camqtt/service-kit';
import { isValidUsername } from '@camqtt/service-kit';

export interface SecretExport {
  username: string;
  folder: string;
}

/** Parses BROKER_PROVISION_EXPORT: `cam1:/export/publisher,relay:/export/web`. */
export function parseSecretExports(list: string): SecretExport[] {
  const exports: SecretExport[] = [];
  for (const item of list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')) {
    const colon = item.indexOf(':');
    const username = item.slice(0, colon);
    const folder = item.slice(colon + 1);
    if (colon < 1 || !isValidUsername(username) || !folder.startsWith('/')) {
      throw new ConfigError(`BROKER_PROVISION_EXPORT entry ${JSON.stringify(item)} must be user:/absolute/folder`);
    }
    exports.push({ username, folder });
  }
  return exports;
}

/** Writes through a temporary name, so a reader never sees half a file. */
async function replaceFile(path: string, data: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, data, { mode });
  await rename(temporary, path);
}

export async function exportSecrets(
  exports: readonly SecretExport[],
  files: { passwordsDir: string; caCertFile: string },
  log: Logger,
): Promise<void> {
  if (exports.length === 0) return;
  const ca = await readFile(files.caCertFile, 'utf8');
  for (const { username, folder } of exports) {
    let password: string;
    try {
      password = await readFile(join(files.passwordsDir, username), 'utf8');
    } catch {
      // Not fatal: an install whose own BROKER_PROVISION_ACCOUNTS predates a service (the recorder)
      // keeps its broker, and the services it has, running; only the new service cannot log in.
      log.warn(
        { user: username, folder },
        `BROKER_PROVISION_EXPORT names ${username}, which has no provisioned password: add it to BROKER_PROVISION_ACCOUNTS`,
      );
      continue;
    }
    try {
      await replaceFile(join(folder, 'password'), password, 0o600);
      await replaceFile(join(folder, 'ca.crt'), ca, 0o644);
    } catch (error) {
      throw new ConfigError(
        `BROKER_PROVISION_EXPORT: cannot write ${username}'s secrets to ${folder} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    }
    log.info({ user: username, folder }, "exported the account's password and the CA certificate");
  }
}
