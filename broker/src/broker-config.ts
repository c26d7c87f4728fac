/**
 * The settings the broker reads, and which files it uses: the ones configured explicitly win,
 * else the provisioned ones (BROKER_PROVISION_DIR), else none.
 */
import { access, readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { type Config, ConfigError, type SettingName } from '@camqtt/service-kit';
import { BROWSER_CAMERA_PREFIX, browserCameraId } from '@camqtt/wire';
import { parseHostnames } from './certificates.js';
import { parseProvisionAccounts, provision } from './provisioning.js';
import { exportSecrets, parseSecretExports } from './secret-export.js';

export const BROKER_SETTINGS = [
  'LOG_LEVEL',
  'TOPIC_PREFIX',
  'BROKER_HOST',
  'BROKER_MQTT_PORT',
  'BROKER_MQTTS_PORT',
  'BROKER_HTTP_PORT',
  'BROKER_TLS_CERT_FILE',
  'BROKER_TLS_KEY_FILE',
  'BROKER_USERS_FILE',
  'BROKER_ACL_FILE',
  'BROKER_ALLOW_ANONYMOUS',
  'BROKER_MAX_PACKET_BYTES',
  'BROKER_MAX_CONNECTIONS',
  'BROKER_MAX_CONNECTIONS_PER_ADDRESS',
  'BROKER_MAX_CONNECTION_RATE_PER_ADDRESS',
  'BROKER_CONNECT_TIMEOUT_MS',
  'BROKER_MAX_CLIENT_BACKLOG_BYTES',
  'BROKER_REDIS_URL',
  'BROKER_REDIS_PASSWORD_FILE',
  'BROKER_PROVISION_DIR',
  'BROKER_PROVISION_ACCOUNTS',
  'CAMERA_ID',
  'HA_DISCOVERY_PREFIX',
  'BROKER_PROVISION_EXPORT',
  'BROKER_TLS_HOSTNAMES',
  'VIEWER_CAMERA_USERS',
] as const satisfies readonly SettingName[];

export type BrokerConfig = Config<(typeof BROKER_SETTINGS)[number]>;

export interface BrokerFiles {
  usersFile: string | undefined;
  aclFile: string | undefined;
  tls: { certFile: string; keyFile: string; cert: string; key: string } | undefined;
  /** The provisioned CA certificate clients should trust, if provisioning made one. */
  caCertFile: string | undefined;
}

async function readNamed(name: SettingName, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${name} names a file that cannot be read: ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

async function checkReadable(name: SettingName, path: string | undefined): Promise<void> {
  if (path === undefined) return;
  try {
    await access(path);
  } catch (error) {
    throw new ConfigError(`${name} names a file that cannot be read: ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** The camera ids the relay may publish as for VIEWER_CAMERA_USERS (a name that makes no camera id is left out; the relay warns of it). */
function browserCamerasOf(users: string): string[] {
  return users
    .split(',')
    .map((user) => browserCameraId(user.trim()))
    .filter((id): id is string => id !== undefined && id !== BROWSER_CAMERA_PREFIX);
}

/** Runs provisioning (if configured) and settles which files the broker uses. */
export async function prepareBrokerFiles(config: BrokerConfig, log: Logger): Promise<BrokerFiles> {
  const explicitCert = config.BROKER_TLS_CERT_FILE || undefined;
  const explicitKey = config.BROKER_TLS_KEY_FILE || undefined;
  if ((explicitCert === undefined) !== (explicitKey === undefined)) {
    throw new ConfigError('BROKER_TLS_CERT_FILE and BROKER_TLS_KEY_FILE must be set together');
  }
  const provisionDir = config.BROKER_PROVISION_DIR || undefined;
  const provisioned = provisionDir
    ? await provision({
        dir: provisionDir,
        accounts: parseProvisionAccounts(
          config.BROKER_PROVISION_ACCOUNTS || `${config.CAMERA_ID}:camera,relay:relay,recorder:recorder,homeassistant:homeassistant`,
        ),
        hostnames: parseHostnames(config.BROKER_TLS_HOSTNAMES),
        prefixes: {
          topicPrefix: config.TOPIC_PREFIX,
          discoveryPrefix: config.HA_DISCOVERY_PREFIX,
          browserCameras: browserCamerasOf(config.VIEWER_CAMERA_USERS),
        },
        parts: { tls: explicitCert === undefined, users: !config.BROKER_USERS_FILE, acl: !config.BROKER_ACL_FILE },
        log,
      })
    : undefined;
  const exports = parseSecretExports(config.BROKER_PROVISION_EXPORT);
  if (exports.length > 0) {
    if (!provisioned) throw new ConfigError('BROKER_PROVISION_EXPORT needs BROKER_PROVISION_DIR: it hands out provisioned passwords');
    await exportSecrets(exports, provisioned, log);
  }

  const certFile = explicitCert ?? provisioned?.certFile;
  const keyFile = explicitKey ?? provisioned?.keyFile;
  const files: BrokerFiles = {
    usersFile: config.BROKER_USERS_FILE || provisioned?.usersFile,
    aclFile: config.BROKER_ACL_FILE || provisioned?.aclFile,
    tls:
      certFile && keyFile
        ? {
            certFile,
            keyFile,
            cert: await readNamed('BROKER_TLS_CERT_FILE', certFile),
            key: await readNamed('BROKER_TLS_KEY_FILE', keyFile),
          }
        : undefined,
    caCertFile: explicitCert === undefined ? provisioned?.caCertFile : undefined,
  };
  await checkReadable('BROKER_USERS_FILE', files.usersFile);
  await checkReadable('BROKER_ACL_FILE', files.aclFile);
  return files;
}
