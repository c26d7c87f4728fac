/**
 * A camqtt cluster as real processes on loopback, wired as docker-compose.cluster.yml wires it:
 * Debian's redis-server (no persistence, its own temp folder, a password), N brokers joined
 * through it (BROKER_REDIS_URL) sharing one provision folder (the first one provisions it), M
 * relays, and Debian's HAProxy in front of both tiers from a generated config: TCP for MQTT/MQTTS,
 * HTTP + WebSocket for the relays. Every port is chosen up front, so a member killed with -9
 * comes back on the same address and HAProxy's config never changes.
 *
 * HAProxy frontends, each `balance first` (the first healthy server in the listed order takes
 * every new connection), so a test knows where a client lands: `cameras` prefers broker 0,
 * `relays` (the relays' own MQTT link) the last broker, `web` the last relay; `mqtts` spreads over
 * all brokers (roundrobin), as a deployment would.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loopbackBrokerEnv, stackAccounts } from './loopback-broker.js';
import { ServiceProcess } from './service-process.js';
import { waitFor } from './wait.js';
import { freePort } from './free-port.js';

/** One broker or relay of the cluster: its fixed ports, and its process while it runs. */
export interface ClusterMember {
  name: string;
  ports: Record<string, number>;
  process: ServiceProcess;
}

export interface ClusterOptions {
  brokers: number;
  relays: number;
  /** Camera ids to provision accounts for (the test starts their publishers: `publisherEnv`). */
  cameras: string[];
  brokerEnv?: Record<string, string>;
  relayEnv?: Record<string, string>;
  /** false: no Redis, one broker on its own (the single-broker path, for comparison). */
  redis?: boolean;
  /** The broker a relay links to directly (the bench places them); undefined: through HAProxy. */
  relayBroker?: (relay: number) => number | undefined;
}

/** HAProxy's health checks: a dead member is out of rotation within about 0.3 s. */
const CHECK = 'check inter 300 fall 1 rise 2';

export class LoopbackCluster {
  readonly brokers: ClusterMember[] = [];
  readonly relays: ClusterMember[] = [];
  redis: ServiceProcess | undefined;
  haproxy: ServiceProcess | undefined;
  /** HAProxy's frontends. */
  readonly ports = { cameras: 0, relays: 0, mqtts: 0, web: 0 };
  redisPort = 0;
  private readonly redisPassword = `test-${Math.random().toString(36).slice(2)}`;

  private constructor(
    readonly workDir: string,
    private readonly options: ClusterOptions,
  ) {}

  get provisionDir(): string {
    return join(this.workDir, 'provision');
  }

  get caFile(): string {
    return join(this.provisionDir, 'tls', 'ca.crt');
  }

  static async start(options: ClusterOptions): Promise<LoopbackCluster> {
    const cluster = new LoopbackCluster(await mkdtemp(join(tmpdir(), 'camqtt-cluster-')), options);
    try {
      await cluster.startAll();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  private async startAll(): Promise<void> {
    if (this.options.redis !== false) await this.startRedis();
    for (const key of Object.keys(this.ports) as Array<keyof typeof this.ports>) this.ports[key] = await freePort();
    for (let i = 0; i < this.options.brokers; i += 1) {
      const ports = { mqtt: await freePort(), mqtts: await freePort(), http: await freePort() };
      this.brokers.push({ name: `broker-${i}`, ports, process: this.spawnBroker(i, ports) });
      // The first broker provisions the shared folder; the others find it made.
      if (i === 0) await this.brokers[0]!.process.waitForLog((line) => line.msg === 'broker ready');
    }
    await Promise.all(this.brokers.map((broker) => broker.process.waitForLog((line) => line.msg === 'broker ready')));
    for (let i = 0; i < this.options.relays; i += 1) {
      const ports = { http: await freePort() };
      this.relays.push({ name: `relay-${i}`, ports, process: this.spawnRelay(i, ports) });
    }
    await Promise.all(this.relays.map((relay) => relay.process.port('http')));
    await writeFile(join(this.workDir, 'haproxy.cfg'), this.haproxyConfig());
    // Debian puts it in /usr/sbin, which a user's PATH may lack.
    const haproxy = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';
    this.haproxy = ServiceProcess.command('haproxy', haproxy, ['-db', '-f', join(this.workDir, 'haproxy.cfg')]);
    await waitFor('HAProxy to listen', () => this.reachable(this.ports.web), 10_000);
  }

  private async startRedis(): Promise<void> {
    this.redisPort = await freePort();
    const config = [
      `port ${this.redisPort}`,
      'bind 127.0.0.1',
      `dir ${this.workDir}`,
      'save ""',
      'appendonly no',
      `requirepass ${this.redisPassword}`,
    ].join('\n');
    await writeFile(join(this.workDir, 'redis.conf'), `${config}\n`, { mode: 0o600 });
    await writeFile(join(this.workDir, 'redis-password'), `${this.redisPassword}\n`, { mode: 0o600 });
    await this.spawnRedis();
  }

  private async spawnRedis(): Promise<void> {
    this.redis = ServiceProcess.command('redis', 'redis-server', [join(this.workDir, 'redis.conf')]);
    await waitFor(
      'Redis to accept connections',
      () =>
        this.redisCommand('ping').then(
          () => true,
          () => false,
        ),
      10_000,
    );
  }

  /** Starts Redis again on its port after a kill (empty: it keeps nothing on disk). */
  async restartRedis(): Promise<void> {
    await this.redis?.stop(0);
    await this.spawnRedis();
  }

  /** One command on a short-lived connection to the cluster's Redis (INFO, CONFIG RESETSTAT...). */
  async redisCommand(command: string, ...args: string[]): Promise<unknown> {
    const redis = new Redis({
      port: this.redisPort,
      host: '127.0.0.1',
      password: this.redisPassword,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    try {
      await redis.connect();
      return await redis.call(command, ...args);
    } finally {
      redis.disconnect();
    }
  }

  /** Redis's INFO as name -> value. */
  async redisInfo(section = 'all'): Promise<Record<string, string>> {
    const text = String(await this.redisCommand('info', section));
    return Object.fromEntries(
      text
        .split('\r\n')
        .filter((line) => line.includes(':') && !line.startsWith('#'))
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
    );
  }

  private spawnBroker(index: number, ports: Record<string, number>): ServiceProcess {
    const env = {
      ...loopbackBrokerEnv(this.provisionDir, stackAccounts(this.options.cameras)),
      BROKER_MQTT_PORT: String(ports.mqtt),
      BROKER_MQTTS_PORT: String(ports.mqtts),
      BROKER_HTTP_PORT: String(ports.http),
      ...(this.options.redis === false
        ? {}
        : { BROKER_REDIS_URL: `redis://127.0.0.1:${this.redisPort}`, BROKER_REDIS_PASSWORD_FILE: join(this.workDir, 'redis-password') }),
      ...this.options.brokerEnv,
    };
    return ServiceProcess.start('broker', env, [], { label: `broker-${index}` });
  }

  private spawnRelay(index: number, ports: Record<string, number>): ServiceProcess {
    const direct = this.options.relayBroker?.(index);
    const env = {
      ...this.clientEnv('relay', direct === undefined ? this.ports.relays : this.brokers[direct]!.ports.mqtts!),
      WEB_HOST: '127.0.0.1',
      WEB_PORT: String(ports.http),
      ...this.options.relayEnv,
    };
    return ServiceProcess.start('web', env, [], { label: `relay-${index}` });
  }

  /** MQTT settings for a client of the cluster: `frontend` is one of HAProxy's MQTTS ports. */
  clientEnv(user: string, frontend: number): Record<string, string> {
    return {
      MQTT_URL: `mqtts://localhost:${frontend}`,
      MQTT_CA_FILE: this.caFile,
      MQTT_USERNAME: user,
      MQTT_PASSWORD_FILE: join(this.provisionDir, 'passwords', user),
    };
  }

  async password(user: string): Promise<string> {
    return (await readFile(join(this.provisionDir, 'passwords', user), 'utf8')).trim();
  }

  /** kill -9, as a crash or a pulled cable would. */
  kill(member: ClusterMember): void {
    member.process.child.kill('SIGKILL');
  }

  /** Starts a killed member again on its own ports. */
  async restart(member: ClusterMember): Promise<void> {
    await member.process.stop(0);
    const index = Number(member.name.split('-')[1]);
    if (this.brokers.includes(member)) {
      member.process = this.spawnBroker(index, member.ports);
      await member.process.waitForLog((line) => line.msg === 'broker ready');
    } else {
      member.process = this.spawnRelay(index, member.ports);
      await member.process.port('http');
    }
  }

  private haproxyConfig(): string {
    const brokers = this.brokers;
    const relays = this.relays;
    const mqttBackend = (name: string, order: ClusterMember[], balance: string): string[] => [
      `backend ${name}`,
      '  mode tcp',
      `  balance ${balance}`,
      '  option httpchk GET /healthz',
      ...order.map((b) => `  server ${b.name} 127.0.0.1:${b.ports.mqtts} ${CHECK} port ${b.ports.http}`),
    ];
    const frontend = (name: string, port: number, mode: string, backend: string): string[] => [
      `frontend ${name}`,
      `  mode ${mode}`,
      `  bind 127.0.0.1:${port}`,
      `  default_backend ${backend}`,
    ];
    return [
      'global',
      '  maxconn 2000',
      'defaults',
      '  timeout connect 2s',
      '  timeout client 1h',
      '  timeout server 1h',
      '  timeout tunnel 1h',
      '  option redispatch',
      '  retries 2',
      ...frontend('cameras', this.ports.cameras, 'tcp', 'cameras'),
      ...mqttBackend('cameras', brokers, 'first'),
      ...frontend('relays', this.ports.relays, 'tcp', 'relays'),
      ...mqttBackend('relays', [...brokers].reverse(), 'first'),
      ...frontend('mqtts', this.ports.mqtts, 'tcp', 'mqtts'),
      ...mqttBackend('mqtts', brokers, 'roundrobin'),
      ...frontend('web', this.ports.web, 'http', 'web'),
      'backend web',
      '  mode http',
      '  balance first',
      '  option httpchk GET /healthz',
      ...[...relays].reverse().map((r) => `  server ${r.name} 127.0.0.1:${r.ports.http} check inter 300 fall 2 rise 2`),
      '',
    ].join('\n');
  }

  private async reachable(port: number): Promise<boolean> {
    const { connect } = await import('node:net');
    return await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }

  async stop(): Promise<void> {
    const all = [this.haproxy, ...this.relays.map((r) => r.process), ...this.brokers.map((b) => b.process), this.redis];
    await Promise.all(all.filter((p): p is ServiceProcess => p !== undefined).map((p) => p.stop(2000)));
    await rm(this.workDir, { recursive: true, force: true });
  }
}
