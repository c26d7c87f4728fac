/**
 * Mosquitto's password-file format, one account a line:
 *
 *   user:$7$<iterations>$<salt base64>$<hash base64>   PBKDF2-HMAC-SHA512 (Mosquitto 2; 101 iterations,
 *                                                      12-byte salt, 64-byte hash)
 *   user:$6$<salt base64>$<hash base64>                SHA-512(password || salt) (Mosquitto 1.x)
 *
 * The salt is used as its decoded bytes, as Mosquitto does, so files are interchangeable with
 * `mosquitto_passwd`. The broker's accounts (BROKER_USERS_FILE), the relay's viewer accounts
 * (VIEWER_USERS_FILE) and scripts/mqtt-user.ts all use this one module.
 */
import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/** What Mosquitto 2's `mosquitto_passwd` writes. */
export const PBKDF2_DEFAULTS = { iterations: 101, saltBytes: 12, hashBytes: 64 } as const;

/**
 * What a line must hold to be used. Both formats store a 64-byte SHA-512 output; a shorter one
 * would be compared as it is (an empty hash matches every password). Salts: mosquitto_passwd
 * writes 12 bytes; fewer than 8 is no salt to speak of. Iterations: each login runs them on the
 * thread pool, so a typo like 1010101010 would hang every login; a million is about a second.
 */
export const PASSWORD_LINE_LIMITS = { hashBytes: 64, minSaltBytes: 8, maxSaltBytes: 64, maxIterations: 1_000_000 } as const;

export type PasswordHash =
  { kind: 'pbkdf2-sha512'; iterations: number; salt: Buffer; hash: Buffer } | { kind: 'sha512'; salt: Buffer; hash: Buffer };

export class PasswordFileError extends Error {
  override name = 'PasswordFileError';
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeBase64(value: string, what: string): Buffer {
  if (!BASE64.test(value)) throw new PasswordFileError(`${what} is not base64`);
  return Buffer.from(value, 'base64');
}

function decodeSalt(value: string): Buffer {
  const salt = decodeBase64(value, 'salt');
  const { minSaltBytes, maxSaltBytes } = PASSWORD_LINE_LIMITS;
  if (salt.length < minSaltBytes || salt.length > maxSaltBytes)
    throw new PasswordFileError(`salt is ${salt.length} bytes (expected ${minSaltBytes}-${maxSaltBytes})`);
  return salt;
}

function decodeHash(value: string): Buffer {
  const hash = decodeBase64(value, 'hash');
  if (hash.length !== PASSWORD_LINE_LIMITS.hashBytes)
    throw new PasswordFileError(`hash is ${hash.length} bytes (expected ${PASSWORD_LINE_LIMITS.hashBytes})`);
  return hash;
}

/** Parses the part after `user:`. Throws a PasswordFileError for anything else. */
export function parsePasswordHash(text: string): PasswordHash {
  const parts = text.split('$');
  if (parts[0] !== '') throw new PasswordFileError('hash does not start with $');
  if (parts[1] === '7' && parts.length === 5) {
    const iterations = /^[0-9]{1,10}$/.test(parts[2]!) ? Number(parts[2]) : NaN;
    if (!(iterations >= 1 && iterations <= PASSWORD_LINE_LIMITS.maxIterations)) {
      throw new PasswordFileError(`bad iteration count (expected 1-${PASSWORD_LINE_LIMITS.maxIterations})`);
    }
    return { kind: 'pbkdf2-sha512', iterations, salt: decodeSalt(parts[3]!), hash: decodeHash(parts[4]!) };
  }
  if (parts[1] === '6' && parts.length === 4) {
    return { kind: 'sha512', salt: decodeSalt(parts[2]!), hash: decodeHash(parts[3]!) };
  }
  throw new PasswordFileError('unknown hash type (expected $7$ or $6$)');
}

export function formatPasswordHash(value: PasswordHash): string {
  return value.kind === 'pbkdf2-sha512'
    ? `$7$${value.iterations}$${value.salt.toString('base64')}$${value.hash.toString('base64')}`
    : `$6$${value.salt.toString('base64')}$${value.hash.toString('base64')}`;
}

async function digest(password: string, like: PasswordHash): Promise<Buffer> {
  if (like.kind === 'pbkdf2-sha512') {
    return await pbkdf2Async(password, like.salt, like.iterations, like.hash.length, 'sha512');
  }
  return createHash('sha512').update(password, 'utf8').update(like.salt).digest();
}

/** Hashes `password` the way Mosquitto 2 does, with a fresh random salt. */
export async function hashPassword(password: string, iterations: number = PBKDF2_DEFAULTS.iterations): Promise<PasswordHash> {
  const salt = randomBytes(PBKDF2_DEFAULTS.saltBytes);
  const hash = await pbkdf2Async(password, salt, iterations, PBKDF2_DEFAULTS.hashBytes, 'sha512');
  return { kind: 'pbkdf2-sha512', iterations, salt, hash };
}

/** Constant-time check of `password` against a stored hash. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  // The parser refuses short hashes; this keeps a hand-built one from matching everything too.
  if (stored.hash.length !== PASSWORD_LINE_LIMITS.hashBytes) return false;
  const candidate = await digest(password, stored);
  return candidate.length === stored.hash.length && timingSafeEqual(candidate, stored.hash);
}

/** A hash nobody's password matches, checked for unknown users so they take as long as known ones. */
export const DECOY_HASH: PasswordHash = {
  kind: 'pbkdf2-sha512',
  iterations: PBKDF2_DEFAULTS.iterations,
  salt: randomBytes(PBKDF2_DEFAULTS.saltBytes),
  hash: randomBytes(PBKDF2_DEFAULTS.hashBytes),
};

export interface PasswordFileEntry {
  username: string;
  hash: PasswordHash;
}

export interface ParsedPasswordFile {
  entries: Map<string, PasswordHash>;
  /** Lines that could not be used, with why (the rest of the file still counts). */
  problems: string[];
}

/**
 * Parses a whole file; blank lines and `#` comments are skipped, bad lines reported with their
 * number. Fails closed: a user with a line that does not parse, or with two lines, gets no entry
 * at all (an earlier good line of theirs does not stay in force behind a broken edit).
 */
export function parsePasswordFile(text: string): ParsedPasswordFile {
  const entries = new Map<string, PasswordHash>();
  const refused = new Set<string>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      problems.push(`line ${index + 1}: expected user:hash`);
      return;
    }
    const username = line.slice(0, colon);
    const refuse = (why: string): void => {
      problems.push(`line ${index + 1} (${username}): ${why}; user refused`);
      refused.add(username);
      entries.delete(username);
    };
    if (!isValidUsername(username)) {
      refuse('user name has whitespace or control characters, or is too long');
      return;
    }
    if (refused.has(username)) {
      refuse('user already refused on an earlier line');
      return;
    }
    if (entries.has(username)) {
      refuse('user appears twice');
      return;
    }
    try {
      entries.set(username, parsePasswordHash(line.slice(colon + 1)));
    } catch (error) {
      refuse((error as Error).message);
    }
  });
  return { entries, problems };
}

export function formatPasswordLine(username: string, hash: PasswordHash): string {
  return `${username}:${formatPasswordHash(hash)}`;
}

/** A username Mosquitto can store: no colon (the separator), no whitespace or control characters. */
export function isValidUsername(username: string): boolean {
  return username.length > 0 && username.length <= 256 && !/[:\s\p{Cc}]/u.test(username);
}

function isLineOf(line: string, username: string): boolean {
  return line.trim().startsWith(`${username}:`);
}

/** Whether `text` has a line for `username`, usable or not (so a broken one can be updated or removed). */
export function hasPasswordLine(text: string, username: string): boolean {
  return text.split(/\r?\n/).some((line) => isLineOf(line, username));
}

/**
 * Returns `text` with `username`'s line replaced by `hash` (appended if missing), or removed when
 * `hash` is null. Further lines of the same user (which make the parser refuse the user) go too.
 * Other lines, comments included, are kept as they are.
 */
export function replacePasswordLine(text: string, username: string, hash: PasswordHash | null): string {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const index = lines.findIndex((line) => isLineOf(line, username));
  const kept = lines.filter((line, i) => i <= index || !isLineOf(line, username));
  const replacement = hash ? [formatPasswordLine(username, hash)] : [];
  if (index === -1) kept.push(...replacement);
  else kept.splice(index, 1, ...replacement);
  return kept.length === 0 ? '' : kept.join('\n') + '\n';
}

/** A random password for a provisioned account (192 bits, URL- and shell-safe). */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}
