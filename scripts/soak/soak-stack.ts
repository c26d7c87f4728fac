/**
 * The soak's camqtt stack: the bundled broker, one publisher per camera and the relay as separate
 * processes on loopback, wired as docker compose wires them (MQTT over TLS, provisioned accounts),
 * each with the soak's probe loaded (process-probe.mjs). Unlike the tests' startStack, the broker
 * and the relay keep their ports across a restart, as they do in compose, so that the clients can
 * come back by themselves: the ports are picked free once, at the start.
 * One publisher reaches the broker through a SilentLinkProxy (its network can be dropped), and the
 * first camera plays a short video file that the soak can take away and put back.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loopbackBrokerEnv, ServiceProcess, stackAccounts, type ServiceName } from '@camqtt/test-support';
import { freePort } from '../bench/processes.js';
import { SilentLinkProxy } from '@camqtt/test-support';

const PROBE = fileURLToPath(new URL('./process-probe.mjs', import.meta.url));

export interface CameraPlan {
  id: string;
  /** testsrc, or the path of the video file. */
  source: string;
  width: number;
  height: number;
  /** This camera's publisher goes through the proxy whose network the soak drops. */
  behindProxy: boolean;
}

export interface LoggedError {
  process: string;
  /** Epoch ms, from the log line; stderr lines have none. */
  time?: number;
  text: string;
}

export interface StackPlan {
  cameras: number;
  fps: number;
  probeIntervalMs: number;
}

/** A 3 s MJPEG video (ffmpeg's test pattern): short, so the publisher reopens it often and sees it go. */
function makeVideoFile(dir: string): string {
  const path = join(dir, 'soak-video.avi');
  execFileSync(
    'ffmpeg',
    ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=30', '-t', '3', '-c:v', 'mjpeg', '-q:v', '5', path],
    { timeout: 60_000 },
  );
  return path;
}

export class SoakStack {
  broker!: ServiceProcess;
  relay!: ServiceProcess;
  readonly publishers = new Map<string, ServiceProcess>();
  readonly cameras: CameraPlan[];
  readonly proxy: SilentLinkProxy;
  /** Every service process started, restarted ones included, for the crash check and the stop. */
  readonly launched: ServiceProcess[] = [];
  /**
   * Error-level log lines and stderr lines about unhandled errors, as they come: a process keeps
   * only its last 5000 lines, which a relay logging every viewer's churn fills in 40 minutes.
   */
  readonly errors: LoggedError[] = [];
  /** Exits the soak did not ask for, as they happened. */
  readonly crashes: string[] = [];
  private readonly expectedExits = new Set<ServiceProcess>();

  private constructor(
    readonly dir: string,
    readonly videoFile: string,
    readonly ports: { mqtt: number; mqtts: number; brokerHttp: number; web: number },
    private readonly plan: StackPlan,
  ) {
    this.proxy = new SilentLinkProxy(ports.mqtts);
    this.cameras = Array.from({ length: plan.cameras }, (_, i) => {
      const large = i === 1;
      return {
        id: `cam${i + 1}`,
        source: i === 0 ? videoFile : 'testsrc',
        width: large ? 1280 : 640,
        height: large ? 720 : 480,
        behindProxy: plan.cameras > 1 && i === plan.cameras - 1,
      };
    });
  }

  static async start(plan: StackPlan): Promise<SoakStack> {
    const dir = await mkdtemp(join(tmpdir(), 'camqtt-soak-'));
    const ports = { mqtt: await freePort(), mqtts: await freePort(), brokerHttp: await freePort(), web: await freePort() };
    const stack = new SoakStack(dir, makeVideoFile(dir), ports, plan);
    try {
      await stack.startAll();
      return stack;
    } catch (error) {
      await stack.stop();
      throw error;
    }
  }

  get provisionDir(): string {
    return join(this.dir, 'provision');
  }

  get caFile(): string {
    return join(this.provisionDir, 'tls', 'ca.crt');
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.ports.web}`;
  }

  passwordFile(user: string): string {
    return join(this.provisionDir, 'passwords', user);
  }

  private async startAll(): Promise<void> {
    await this.startBroker();
    await this.proxy.start();
    for (const camera of this.cameras) this.startPublisher(camera);
    await this.startRelay();
  }

  private launch(service: ServiceName, label: string, env: Record<string, string>): ServiceProcess {
    const started = ServiceProcess.start(
      service,
      { LOG_LEVEL: 'info', SOAK_PROBE_INTERVAL_MS: String(this.plan.probeIntervalMs), ...env },
      [],
      { label, nodeArgs: ['--import', PROBE] },
    );
    this.launched.push(started);
    this.tapErrors(started, label);
    started.child.once('exit', (code, signal) => {
      if (!this.expectedExits.has(started)) this.crashes.push(`${label} (pid ${started.pid}) exited: code ${code}, signal ${signal}`);
    });
    return started;
  }

  /** The soak is about to stop or kill this process: its exit is not a crash. */
  expectExit(service: ServiceProcess): void {
    this.expectedExits.add(service);
  }

  private tapErrors(service: ServiceProcess, label: string): void {
    const { stdout, stderr } = service.child;
    if (stdout)
      createInterface({ input: stdout }).on('line', (text) => {
        if (!text.includes('"level":5') && !text.includes('"level":6')) return; // pino: 50 error, 60 fatal
        try {
          const line = JSON.parse(text) as { level?: number; time?: number };
          if ((line.level ?? 0) >= 50) this.errors.push({ process: label, time: line.time, text });
        } catch {
          // Not a log line; ServiceProcess keeps it as raw output.
        }
      });
    if (stderr)
      createInterface({ input: stderr }).on('line', (text) => {
        if (/unhandled|uncaught|fatal/i.test(text)) this.errors.push({ process: label, text });
      });
  }

  async startBroker(): Promise<void> {
    this.broker = this.launch('broker', 'broker', {
      ...loopbackBrokerEnv(this.provisionDir, stackAccounts(this.cameras.map((c) => c.id))),
      BROKER_MQTT_PORT: String(this.ports.mqtt),
      BROKER_MQTTS_PORT: String(this.ports.mqtts),
      BROKER_HTTP_PORT: String(this.ports.brokerHttp),
    });
    await Promise.all([this.broker.port('mqtt'), this.broker.port('mqtts'), this.broker.port('http')]);
  }

  clientEnv(user: string, port = this.ports.mqtts): Record<string, string> {
    return {
      MQTT_URL: `mqtts://localhost:${port}`,
      MQTT_CA_FILE: this.caFile,
      MQTT_USERNAME: user,
      MQTT_PASSWORD_FILE: this.passwordFile(user),
    };
  }

  private startPublisher(camera: CameraPlan): void {
    const port = camera.behindProxy ? this.proxy.port : this.ports.mqtts;
    const publisher = this.launch('publisher', `publisher ${camera.id}`, {
      ...this.clientEnv(camera.id, port),
      CAMERA_ID: camera.id,
      CAMERA_SOURCE: camera.source,
      VIDEO_WIDTH: String(camera.width),
      VIDEO_HEIGHT: String(camera.height),
      VIDEO_FPS: String(this.plan.fps),
      STATUS_INTERVAL_S: '5',
    });
    this.publishers.set(camera.id, publisher);
  }

  async startRelay(): Promise<void> {
    this.relay = this.launch('web', 'relay', { ...this.clientEnv('relay'), WEB_HOST: '127.0.0.1', WEB_PORT: String(this.ports.web) });
    await this.relay.port('http');
  }

  /** Every process of the stack now, by label. */
  processes(): Array<[string, ServiceProcess]> {
    return [
      ['broker', this.broker],
      ...[...this.publishers].map(([id, p]): [string, ServiceProcess] => [`publisher ${id}`, p]),
      ['relay', this.relay],
    ];
  }

  async stop(): Promise<void> {
    for (const service of this.launched) this.expectExit(service);
    // Relay and publishers first, so the broker sees clean disconnects (stopping an exited process is a no-op).
    await Promise.all(this.launched.filter((p) => p.name !== 'broker').map((p) => p.stop()));
    await Promise.all(this.launched.map((p) => p.stop()));
    await this.proxy.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
