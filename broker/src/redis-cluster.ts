/**
 * Joining a cluster of brokers through Redis (BROKER_REDIS_URL), with Aedes's own cluster parts:
 * mqemitter-redis carries messages between brokers, each topic on its own Redis channel, and a
 * broker subscribes in Redis only to the filters its own clients hold, so Redis sends a message
 * only to the brokers that have a subscriber for it; aedes-persistence-redis keeps retained
 * messages, sessions, subscriptions and wills in Redis, where every broker reads them. Accounts,
 * ACL and TLS stay each broker's own: every broker reads the same provisioned files.
 */
import type { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Aedes, Client } from 'aedes';
import aedesPersistenceRedis, { type RedisPersistence } from 'aedes-persistence-redis';
import { Redis } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import type { Logger } from 'pino';
import { ConfigError, PerKeyRateLimit } from '@camqtt/service-kit';
import type { BrokerMetrics } from './metrics.js';

/**
 * How often each broker tells the others it is alive. Aedes publishes the wills of a broker's
 * clients three intervals after its last heartbeat (its default, a minute, would leave a dead
 * broker's cameras "online" for minutes).
 */
export const CLUSTER_HEARTBEAT_MS = 2000;

export interface RedisClusterOptions {
  /** redis://[user:password@]host:port[/db] or rediss:// (TLS). */
  url: string;
  /** Used when the URL carries no password. */
  passwordFile: string | undefined;
  metrics: BrokerMetrics;
  log: Logger;
}

/** The URL without its password, for logs and errors. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

export class RedisCluster {
  readonly mq: MQEmitterRedis.MQEmitterRedis;
  readonly persistence: RedisPersistence;
  private readonly connections: Redis[] = [];
  private readonly address: string;
  private readyCount = 0;
  private readonly errorLog = new PerKeyRateLimit(60_000);
  /** The first connection error seen, for the start-up error (ioredis's own is "Connection is closed"). */
  private firstError: string | undefined;

  private constructor(
    private readonly options: RedisClusterOptions,
    password: string | undefined,
  ) {
    this.address = redactRedisUrl(options.url);
    const connect = (role: string, offlineQueue: boolean): Redis => {
      const redis = new Redis(options.url, {
        ...(password === undefined ? {} : { password }),
        lazyConnect: true,
        // A message is worth sending only now: while Redis is away, publishes fail at once instead
        // of piling up in memory (frames are QoS 0; the next one replaces a lost one).
        enableOfflineQueue: offlineQueue,
        retryStrategy: (attempt) => Math.min(200 * attempt, 2000),
        connectionName: `camqtt-broker-${role}`,
      });
      this.watch(redis, role);
      this.connections.push(redis);
      return redis;
    };
    // Subscriptions and session state wait for a reconnect (ioredis resubscribes by itself).
    const subConn = connect('sub', true);
    const pubConn = connect('pub', false);
    const stateConn = connect('state', true);
    this.mq = MQEmitterRedis({ subConn, pubConn, matchEmptyLevels: true });
    // mqemitter-redis re-emits its connections' errors on `state` (not in its typings), where
    // without a listener a lost Redis would end the process; watch() logs them already.
    (this.mq as unknown as { state: EventEmitter }).state.on('error', () => {});
    // Its close() sends QUIT on both connections and leaves the promise unhandled: with Redis away,
    // that rejection would end a stopping broker with an error. The connections are ours to end.
    this.mq.close = (callback) => {
      this.disconnect();
      callback();
    };
    this.countTraffic(subConn, pubConn);
    handleEveryCommand(stateConn);
    this.persistence = aedesPersistenceRedis({ conn: stateConn });
  }

  /** Reads the password file (if any) and connects; throws a ConfigError when Redis cannot be reached. */
  static async connect(options: RedisClusterOptions): Promise<RedisCluster> {
    const url = new URL(options.url);
    let password: string | undefined;
    if (!url.password && options.passwordFile) {
      try {
        password = (await readFile(options.passwordFile, 'utf8')).trim();
      } catch (error) {
        throw new ConfigError(
          `BROKER_REDIS_PASSWORD_FILE names a file that cannot be read: ${options.passwordFile} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        );
      }
    }
    const cluster = new RedisCluster(options, password);
    try {
      await Promise.all(cluster.connections.map((redis) => redis.connect()));
    } catch (error) {
      cluster.disconnect();
      const reason = cluster.firstError ?? (error as Error).message;
      throw new ConfigError(`BROKER_REDIS_URL: cannot reach Redis at ${cluster.address}: ${reason}`);
    }
    return cluster;
  }

  /** True while every connection to Redis is up. */
  get ready(): boolean {
    return this.readyCount === this.connections.length;
  }

  /** What Aedes needs to run as one of the cluster's brokers. */
  aedesOptions(): { mq: MQEmitterRedis.MQEmitterRedis; persistence: RedisPersistence; heartbeatInterval: number } {
    return { mq: this.mq, persistence: this.persistence, heartbeatInterval: CLUSTER_HEARTBEAT_MS };
  }

  /**
   * Aedes reports a failed session, will or retained-message operation as its 'error' event, which
   * ends the process when nothing listens: with the state in Redis that is any Redis outage longer
   * than ioredis's retries. Logged instead (once a minute per message), and the broker stays up.
   */
  watchBroker(aedes: Aedes): void {
    // Aedes is an EventEmitter; its typings list its other events only.
    (aedes as unknown as EventEmitter).on('error', (error: Error) => {
      const { allowed, suppressed } = this.errorLog.take(error.message);
      if (allowed)
        this.options.log.warn({ err: error, redis: this.address, suppressed }, 'a cluster state operation failed (is Redis reachable?)');
    });
  }

  /**
   * A client that connects here supersedes the will it left on another broker: without this, when
   * that broker dies, its will (a camera's "offline" status) is published by the sweep seconds
   * after the camera is back online here, and stays retained.
   */
  supersedeWillsElsewhere(aedes: Aedes, client: Client): void {
    for (const brokerId of Object.keys(aedes.brokers)) {
      if (brokerId === aedes.id) continue;
      this.persistence.delWill({ id: client.id, brokerId }).catch((error: unknown) => {
        this.options.log.warn({ err: error, clientId: client.id, brokerId }, 'could not drop a will left on another broker');
      });
    }
  }

  /** Closes the connections; Aedes's close has closed the emitter's already. */
  disconnect(): void {
    for (const redis of this.connections) redis.disconnect();
  }

  private watch(redis: Redis, role: string): void {
    const { log } = this.options;
    let up = false;
    let lastError = '';
    redis.on('ready', () => {
      up = true;
      this.readyCount += 1;
      lastError = '';
      log.info({ redis: this.address, connection: role }, 'connected to Redis');
    });
    redis.on('close', () => {
      if (!up) return;
      up = false;
      this.readyCount -= 1;
      log.warn({ redis: this.address, connection: role }, 'lost Redis; reconnecting (messages between brokers are dropped meanwhile)');
    });
    // ioredis retries by itself; each distinct failure is logged once.
    redis.on('error', (error: Error) => {
      this.firstError ??= error.message;
      if (error.message === lastError) return;
      lastError = error.message;
      log.warn({ redis: this.address, connection: role, err: error.message }, 'Redis connection error');
    });
  }

  private countTraffic(subConn: Redis, pubConn: Redis): void {
    const { metrics } = this.options;
    const received = (message: Buffer): void => {
      metrics.clusterMessagesReceived.inc();
      metrics.clusterBytesReceived.inc(message.length);
    };
    subConn.on('messageBuffer', (_channel: Buffer, message: Buffer) => received(message));
    subConn.on('pmessageBuffer', (_pattern: Buffer, _channel: Buffer, message: Buffer) => received(message));
    const publish = pubConn.publish.bind(pubConn);
    // Counted where mqemitter-redis hands its encoded message to Redis.
    pubConn.publish = (channel: string, message: Buffer) => {
      metrics.clusterMessagesSent.inc();
      metrics.clusterBytesSent.inc(message.length);
      return publish(channel, message);
    };
  }
}

/**
 * aedes-persistence-redis sends some commands without waiting for them (putWill, delWill): when
 * Redis is away long enough for ioredis to give up on them, their rejection is unhandled and would
 * end the process. Each command's promise gets a handler here; a caller that waits still sees the
 * error (Aedes then reports it as its 'error' event, see watchBroker).
 */
function handleEveryCommand(redis: Redis): void {
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    const result = send(command, stream);
    command.promise.catch(() => {});
    return result;
  };
}
