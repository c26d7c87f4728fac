/**
 * The random secret mixed into the shared-password session key (WEB_SECRET_FILE). Keyed by the
 * password alone, one captured cookie would let anyone guess the password offline at full speed;
 * with the secret they need this file as well. Kept in a file, not made per process, so sessions
 * survive a relay restart. Made on first start (0600, its folder 0700) when missing.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '@camqtt/service-kit';

/** Bytes of randomness a new secret has, and the least an existing file must hold. */
const SECRET_BYTES = 32;

export function loadSessionSecret(file: string, log: Logger): Buffer {
  const path = resolve(file);
  const existing = readSecret(path);
  if (existing) return checked(existing, path, log);
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Written whole under another name, then linked in: a relay starting at the same moment never
    // reads it half written, and the first link wins (EEXIST: we read theirs below).
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${randomBytes(SECRET_BYTES).toString('hex')}\n`, { mode: 0o600 });
    try {
      linkSync(temporary, path);
      log.info({ file: path }, 'made a new viewer session secret (WEB_SECRET_FILE)');
    } finally {
      unlinkSync(temporary);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new ConfigError(
        `WEB_SECRET_FILE cannot be created: ${path} (${code(error)}); point it at a writable place, e.g. the provision folder`,
      );
  }
  return checked(readSecret(path) ?? Buffer.alloc(0), path, log);
}

/** The file's bytes (surrounding whitespace trimmed), or undefined when there is no file yet. */
function readSecret(path: string): Buffer | undefined {
  try {
    return Buffer.from(readFileSync(path, 'utf8').trim(), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`WEB_SECRET_FILE cannot be read: ${path} (${code(error)})`);
  }
}

function checked(secret: Buffer, path: string, log: Logger): Buffer {
  // 32 bytes as hex is 64 characters; anything much shorter is guessable.
  if (secret.length < SECRET_BYTES)
    throw new ConfigError(
      `WEB_SECRET_FILE holds ${secret.length} characters, fewer than ${SECRET_BYTES}: ${path} (delete it and a new one is made)`,
    );
  if ((statSync(path).mode & 0o077) !== 0) log.warn({ file: path }, 'WEB_SECRET_FILE is readable by other users: chmod 600 it');
  return secret;
}

function code(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}
