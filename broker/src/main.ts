/**
 * The camqtt broker service: provisioning, accounts and access rules, the MQTT/MQTTS listeners
 * and the health/metrics endpoint. Stops cleanly on SIGTERM/SIGINT; SIGHUP re-reads the users
 * and ACL files (they are also re-read when they change).
 */
import { pino } from 'pino';
import { ConfigError, LoginThrottle, loadConfig, runService, stopOnSignals, type SettingName } from '@camqtt/service-kit';
import { createAccessHooks } from './access-hooks.js';
import { remoteAddressOf } from './client-connection.js';
import { AccountStore, AclStore } from './accounts.js';
import { BROKER_SETTINGS, prepareBrokerFiles } from './broker-config.js';
import { HealthServer } from './health-server.js';
import { ClientSessions } from './client-sessions.js';
import { BrokerMetrics } from './metrics.js';
import { MqttBroker } from './mqtt-broker.js';
import type { RedisCluster } from './redis-cluster.js';

/** SIGTERM must end the process within 2 s (docker's patience is longer, the tests' is not). */
const SHUTDOWN_DEADLINE_MS = 1500;

async function startFileStore(store: AccountStore | AclStore, setting: SettingName): Promise<void> {
  try {
    await store.start();
  } catch (error) {
    throw new ConfigError(`${setting} (${store.path}) cannot be used: ${(error as Error).message}`);
  }
}

runService('broker', async () => {
  const config = loadConfig(BROKER_SETTINGS);
  const log = pino({ name: 'broker', level: config.LOG_LEVEL });
  const files = await prepareBrokerFiles(config, log);
  if (config.BROKER_MQTT_PORT === 'off' && !files.tls) {
    throw new ConfigError(
      'BROKER_MQTT_PORT is off but there is no TLS certificate (BROKER_TLS_CERT_FILE or BROKER_PROVISION_DIR): no listener would be left',
    );
  }

  const accounts = new AccountStore(files.usersFile, log);
  const acl = new AclStore(files.aclFile, log);
  await startFileStore(accounts, 'BROKER_USERS_FILE');
  await startFileStore(acl, 'BROKER_ACL_FILE');
  if (!files.usersFile && !config.BROKER_ALLOW_ANONYMOUS) log.warn('no users file and anonymous clients refused: nobody can connect');
  if (!files.aclFile) log.warn('no ACL file: every publish and subscribe will be refused');

  const sessions = new ClientSessions();
  // Read at scrape time; `mqtt` exists by then.
  const metrics: BrokerMetrics = new BrokerMetrics({ clients: () => mqtt.connectedClients, connections: () => mqtt.openConnections });
  // Loaded only for a cluster: a broker of its own never touches the Redis libraries.
  const cluster: RedisCluster | undefined = config.BROKER_REDIS_URL
    ? await (
        await import('./redis-cluster.js')
      ).RedisCluster.connect({
        url: config.BROKER_REDIS_URL,
        passwordFile: config.BROKER_REDIS_PASSWORD_FILE || undefined,
        metrics,
        log,
      })
    : undefined;
  const mqtt: MqttBroker = new MqttBroker({
    host: config.BROKER_HOST,
    mqttPort: config.BROKER_MQTT_PORT,
    mqttsPort: config.BROKER_MQTTS_PORT,
    tls: files.tls,
    maxPacketBytes: config.BROKER_MAX_PACKET_BYTES,
    maxConnections: config.BROKER_MAX_CONNECTIONS,
    maxConnectionsPerAddress: config.BROKER_MAX_CONNECTIONS_PER_ADDRESS,
    connectionRatePerAddress: config.BROKER_MAX_CONNECTION_RATE_PER_ADDRESS,
    connectTimeoutMs: config.BROKER_CONNECT_TIMEOUT_MS,
    maxClientBacklogBytes: config.BROKER_MAX_CLIENT_BACKLOG_BYTES,
    hooks: createAccessHooks({
      accounts,
      acl,
      allowAnonymous: config.BROKER_ALLOW_ANONYMOUS,
      throttle: new LoginThrottle(),
      sessions,
      maxClientBacklogBytes: config.BROKER_MAX_CLIENT_BACKLOG_BYTES,
      metrics,
      log,
    }),
    cluster,
    metrics,
    log,
  });
  // As Mosquitto does on reload: a removed account or changed password ends the logins made with it.
  accounts.onRevoked((usernames) => {
    for (const { client, username } of sessions.disconnect(usernames)) {
      metrics.refusedConnections.inc({ reason: 'account_revoked' });
      log.warn({ username, clientId: client.id, remoteAddress: remoteAddressOf(client) }, 'account revoked; client disconnected');
    }
  });
  const http = new HealthServer({
    host: config.BROKER_HOST,
    port: config.BROKER_HTTP_PORT,
    metrics,
    countClients: () => mqtt.connectedClients,
    redisReady: cluster && (() => cluster.ready),
    log,
  });

  stopOnSignals({
    log,
    deadlineMs: SHUTDOWN_DEADLINE_MS,
    stop: async () => {
      accounts.stop();
      acl.stop();
      await Promise.all([http.stop(), mqtt.stop()]);
    },
    reload: async () => {
      await Promise.all([accounts.reload(), acl.reload()]);
    },
    reloads: 'users and access rules',
  });
  await mqtt.start();
  await http.start();
  log.info(
    {
      tls: files.tls !== undefined,
      cluster: cluster !== undefined,
      caCertFile: files.caCertFile,
      usersFile: files.usersFile,
      aclFile: files.aclFile,
    },
    'broker ready',
  );
  return { ports: { ...mqtt.ports, http: http.port } };
});
