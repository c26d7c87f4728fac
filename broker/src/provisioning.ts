/**
 * First-start provisioning of a broker folder (BROKER_PROVISION_DIR):
 *
 *   tls/ca.crt, tls/ca.key          a local CA (clients trust ca.crt)
 *   tls/server.crt, tls/server.key  the broker's certificate, signed by that CA
 *   users                           Mosquitto password file with the accounts of BROKER_PROVISION_ACCOUNTS
 *   acl                             Mosquitto ACL file with each account's role
 *   passwords/<user>                each generated password (mode 0600), for MQTT_PASSWORD_FILE
 *
 * Only what is missing is created; nothing is ever overwritten, so a second start reuses
 * everything. An account missing from an existing users/ACL file is appended to it.
 */
import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { haDiscoveryTopic, haMotionDiscoveryTopic, isCameraId } from '@camqtt/wire';
import { ConfigError } from '@camqtt/service-kit';
import { AccessRules, formatUserBlock, type AclRule } from './acl.js';
import { createCertificateAuthority, createServerCertificate, type PemPair } from './certificates.js';
import { formatPasswordLine, generatePassword, hashPassword, isValidUsername, parsePasswordFile } from '@camqtt/service-kit';

export const ROLES = ['camera', 'relay', 'recorder', 'admin', 'homeassistant'] as const;
export type Role = (typeof ROLES)[number];

export interface ProvisionAccount {
  username: string;
  role: Role;
}

/** Parses BROKER_PROVISION_ACCOUNTS: `cam1:camera,relay:relay`. */
export function parseProvisionAccounts(list: string): ProvisionAccount[] {
  const accounts: ProvisionAccount[] = [];
  for (const item of list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')) {
    const [username = '', role = '', ...extra] = item.split(':');
    const where = `BROKER_PROVISION_ACCOUNTS entry ${JSON.stringify(item)}`;
    if (extra.length > 0 || !isValidUsername(username))
      throw new ConfigError(`${where} must be user:role with a user name of no spaces or colons`);
    if (!(ROLES as readonly string[]).includes(role)) throw new ConfigError(`${where} has an unknown role (roles: ${ROLES.join(', ')})`);
    if (role === 'camera' && !isCameraId(username))
      throw new ConfigError(`${where}: a camera account's name is its camera id (letters, digits, _ and -)`);
    if (accounts.some((account) => account.username === username)) throw new ConfigError(`${where} names the user twice`);
    accounts.push({ username, role: role as Role });
  }
  return accounts;
}

/** Where the roles' topics are (TOPIC_PREFIX, HA_DISCOVERY_PREFIX), and which browser cameras the relay publishes for. */
export interface RolePrefixes {
  topicPrefix: string;
  discoveryPrefix: string;
  /** The camera ids of VIEWER_CAMERA_USERS (browser-<user>); none by default. */
  browserCameras?: readonly string[];
}

/** What each role may do, written as plain topic rules in the account's `user` block. */
export function roleRules(role: Role, username: string, { topicPrefix, discoveryPrefix, browserCameras = [] }: RolePrefixes): AclRule[] {
  switch (role) {
    case 'camera':
      return [
        { access: 'write', filter: `${topicPrefix}/${username}/frame` },
        { access: 'write', filter: `${topicPrefix}/${username}/status` },
        { access: 'read', filter: `${topicPrefix}/${username}/control` },
        { access: 'write', filter: `${topicPrefix}/${username}/answer` },
        // Home Assistant: its still, its discovery config, and Home Assistant's birth message.
        { access: 'write', filter: `${topicPrefix}/${username}/image` },
        { access: 'write', filter: haDiscoveryTopic(discoveryPrefix, topicPrefix, username) },
        { access: 'read', filter: `${discoveryPrefix}/status` },
      ];
    case 'relay':
      return [
        { access: 'read', filter: `${topicPrefix}/+/frame` },
        { access: 'read', filter: `${topicPrefix}/+/status` },
        { access: 'write', filter: `${topicPrefix}/+/control` },
        { access: 'read', filter: `${topicPrefix}/+/answer` },
        // The recorder's motion events and states, for the page's badges and timeline.
        { access: 'read', filter: `${topicPrefix}/+/event` },
        { access: 'read', filter: `${topicPrefix}/+/recording` },
        // Browser cameras (VIEWER_CAMERA_USERS): the relay publishes for the pages it logged in,
        // and reads their commands, for those cameras only: it can never pass for another camera.
        ...browserCameras.flatMap((camera): AclRule[] => [
          { access: 'write', filter: `${topicPrefix}/${camera}/frame` },
          { access: 'write', filter: `${topicPrefix}/${camera}/status` },
          { access: 'read', filter: `${topicPrefix}/${camera}/control` },
        ]),
      ];
    case 'recorder':
      // Frames and statuses to record; motion events, its state per camera, and the motion
      // sensors' discovery for Home Assistant (with its birth message, to announce them again).
      return [
        { access: 'read', filter: `${topicPrefix}/+/frame` },
        { access: 'read', filter: `${topicPrefix}/+/status` },
        // readwrite: the retained event is read back at start, to end one a killed recorder left open.
        { access: 'readwrite', filter: `${topicPrefix}/+/event` },
        { access: 'write', filter: `${topicPrefix}/+/recording` },
        { access: 'write', filter: haMotionDiscoveryTopic(discoveryPrefix, topicPrefix, '+') },
        { access: 'read', filter: `${discoveryPrefix}/status` },
      ];
    case 'homeassistant':
      // What Home Assistant's MQTT integration needs for the cameras: discovery, stills, availability, motion; its own birth message.
      return [
        { access: 'read', filter: `${discoveryPrefix}/#` },
        { access: 'write', filter: `${discoveryPrefix}/status` },
        { access: 'read', filter: `${topicPrefix}/+/image` },
        { access: 'read', filter: `${topicPrefix}/+/status` },
        // The recorder's motion sensors read their state from the event topic.
        { access: 'read', filter: `${topicPrefix}/+/event` },
      ];
    case 'admin':
      return [
        { access: 'readwrite', filter: '#' },
        { access: 'readwrite', filter: '$SYS/#' },
      ];
  }
}

export interface ProvisionOptions {
  dir: string;
  accounts: readonly ProvisionAccount[];
  hostnames: readonly string[];
  prefixes: RolePrefixes;
  /** Which parts to provision; a part whose file is configured explicitly is skipped. */
  parts: { tls: boolean; users: boolean; acl: boolean };
  log: Logger;
}

export interface ProvisionedFiles {
  caCertFile: string;
  caKeyFile: string;
  certFile: string;
  keyFile: string;
  usersFile: string;
  aclFile: string;
  passwordsDir: string;
}

export function provisionedPaths(dir: string): ProvisionedFiles {
  return {
    caCertFile: join(dir, 'tls', 'ca.crt'),
    caKeyFile: join(dir, 'tls', 'ca.key'),
    certFile: join(dir, 'tls', 'server.crt'),
    keyFile: join(dir, 'tls', 'server.key'),
    usersFile: join(dir, 'users'),
    aclFile: join(dir, 'acl'),
    passwordsDir: join(dir, 'passwords'),
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Creates `path` only if it does not exist yet ('wx'): never overwrites, even in a race. */
async function writeNew(path: string, data: string, mode: number, log: Logger): Promise<void> {
  await writeFile(path, data, { flag: 'wx', mode });
  log.info({ file: path }, 'provisioned');
}

async function appendTo(path: string, data: string, log: Logger, what: Record<string, unknown>): Promise<void> {
  const text = await readFile(path, 'utf8');
  await appendFile(path, (text === '' || text.endsWith('\n') ? '' : '\n') + data);
  log.info({ file: path, ...what }, 'provisioned: appended');
}

async function provisionTls(paths: ProvisionedFiles, hostnames: readonly string[], log: Logger): Promise<void> {
  const [haveCaCert, haveCaKey, haveCert, haveKey] = await Promise.all(
    [paths.caCertFile, paths.caKeyFile, paths.certFile, paths.keyFile].map(exists),
  );
  if (haveCert && haveKey) return checkCertificateNames(paths, hostnames);
  if (haveCert !== haveKey) {
    throw new ConfigError(`BROKER_PROVISION_DIR has only one of ${paths.certFile} and ${paths.keyFile}; remove it to have both made again`);
  }
  let ca: PemPair;
  if (haveCaCert && haveCaKey) {
    ca = { cert: await readFile(paths.caCertFile, 'utf8'), key: await readFile(paths.caKeyFile, 'utf8') };
  } else if (!haveCaCert && !haveCaKey) {
    // The CA may sign for BROKER_TLS_HOSTNAMES only (see CertificateAuthorityOptions).
    ca = await createCertificateAuthority({ permittedNames: hostnames });
    await writeNew(paths.caKeyFile, ca.key, 0o600, log);
    await writeNew(paths.caCertFile, ca.cert, 0o644, log);
  } else {
    throw new ConfigError(
      `BROKER_PROVISION_DIR has only one of ${paths.caCertFile} and ${paths.caKeyFile}, so no server certificate can be signed`,
    );
  }
  const server = await createServerCertificate(ca, hostnames);
  await writeNew(paths.keyFile, server.key, 0o600, log);
  await writeNew(paths.certFile, server.cert, 0o644, log);
}

/**
 * A provisioned certificate is never replaced, so a changed BROKER_TLS_HOSTNAMES would otherwise
 * be ignored without a word, and clients would fail on a name the certificate lacks.
 */
async function checkCertificateNames(paths: ProvisionedFiles, hostnames: readonly string[]): Promise<void> {
  const certificate = new X509Certificate(await readFile(paths.certFile));
  const names = (certificate.subjectAltName ?? '')
    .split(', ')
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
    .filter(Boolean);
  const same = names.length === hostnames.length && hostnames.every((name) => names.includes(name));
  if (!same) {
    throw new ConfigError(
      `BROKER_TLS_HOSTNAMES (${hostnames.join(',')}) differs from the names of the provisioned certificate (${names.join(',')}): remove ${dirname(paths.certFile)} to have a new CA and certificate made, then give clients the new ca.crt`,
    );
  }
}

/** The account's password: the one already in passwords/<user>, else a new random one saved there. */
async function accountPassword(paths: ProvisionedFiles, username: string, log: Logger): Promise<string> {
  const file = join(paths.passwordsDir, username);
  if (await exists(file)) return (await readFile(file, 'utf8')).trim();
  const password = generatePassword();
  await writeNew(file, `${password}\n`, 0o600, log);
  return password;
}

async function provisionUsers(paths: ProvisionedFiles, accounts: readonly ProvisionAccount[], log: Logger): Promise<void> {
  const hadFile = await exists(paths.usersFile);
  const known = hadFile ? parsePasswordFile(await readFile(paths.usersFile, 'utf8')).entries : new Map();
  const lines: string[] = [];
  for (const { username } of accounts) {
    if (known.has(username)) continue;
    const hash = await hashPassword(await accountPassword(paths, username, log));
    lines.push(formatPasswordLine(username, hash));
  }
  if (!hadFile) await writeNew(paths.usersFile, lines.map((line) => `${line}\n`).join(''), 0o600, log);
  else if (lines.length > 0) await appendTo(paths.usersFile, lines.map((line) => `${line}\n`).join(''), log, { users: lines.length });
}

/**
 * A provisioned account (one of BROKER_PROVISION_ACCOUNTS) gets every rule of its role: a new one
 * its whole block, one made by an older camqtt the rules its role has gained since (a camera's
 * Home Assistant and answer topics), in a block of its own, so an upgrade keeps working. Accounts
 * not in the list, and rules beyond a role's, are left as they are.
 */
async function provisionAcl(
  paths: ProvisionedFiles,
  accounts: readonly ProvisionAccount[],
  prefixes: RolePrefixes,
  log: Logger,
): Promise<void> {
  const hadFile = await exists(paths.aclFile);
  const existing = hadFile ? AccessRules.parse(await readFile(paths.aclFile, 'utf8')).userRules : new Map<string, readonly AclRule[]>();
  const blocks = accounts.flatMap((account) => {
    const wanted = roleRules(account.role, account.username, prefixes);
    const have = existing.get(account.username);
    if (!have) return [`# role: ${account.role}\n${formatUserBlock(account.username, wanted)}`];
    const missing = wanted.filter((rule) => !have.some((own) => own.access === rule.access && own.filter === rule.filter));
    return missing.length === 0
      ? []
      : [`# role: ${account.role} (rules the role gained in a later camqtt)\n${formatUserBlock(account.username, missing)}`];
  });
  if (!hadFile) {
    const header = '# camqtt broker access rules (Mosquitto ACL format). Nothing is allowed unless a rule allows it.\n\n';
    await writeNew(paths.aclFile, header + blocks.join('\n'), 0o644, log);
  } else if (blocks.length > 0) {
    await appendTo(paths.aclFile, `\n${blocks.join('\n')}`, log, { users: blocks.length });
  }
}

/** Creates whatever is missing in `options.dir`; returns where everything is. */
export async function provision(options: ProvisionOptions): Promise<ProvisionedFiles> {
  const paths = provisionedPaths(options.dir);
  const log = options.log.child({ component: 'provisioning' });
  await mkdir(join(options.dir, 'tls'), { recursive: true, mode: 0o755 });
  await mkdir(paths.passwordsDir, { recursive: true, mode: 0o700 });
  if (options.parts.tls) await provisionTls(paths, options.hostnames, log);
  if (options.parts.users) await provisionUsers(paths, options.accounts, log);
  if (options.parts.acl) await provisionAcl(paths, options.accounts, options.prefixes, log);
  return paths;
}
