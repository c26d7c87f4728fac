/**
 * Child processes the bench starts (camqtt services and Mosquitto): spawned with a clean
 * environment, JSON log lines collected, and every one of them registered so that an error or
 * Ctrl-C still stops them all.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export const serviceEntries = {
  broker: `${repoRoot}broker/dist/main.js`,
  publisher: `${repoRoot}services/publisher/dist/main.js`,
  web: `${repoRoot}web/dist/main.js`,
} as const;

export type ServiceName = keyof typeof serviceEntries;
export type LogLine = Record<string, unknown> & { msg?: string; time?: number };

/** Every process started and not yet stopped: what the cleanup on exit has to stop. */
const running = new Set<BenchProcess>();

/**
 * Children get SIGTERM from the kernel if the bench dies without cleaning up (a crash, SIGKILL):
 * util-linux's setpriv sets the parent-death signal and then execs, so the pid stays the service's.
 */
const SETPRIV = '/usr/bin/setpriv';
const deathSignalWrapper = existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'TERM', '--'] : [];

function spawnWithDeathSignal(file: string, args: string[], options: SpawnOptions): ChildProcess {
  const [wrapper, ...wrapperArgs] = deathSignalWrapper;
  return wrapper ? spawn(wrapper, [...wrapperArgs, file, ...args], options) : spawn(file, args, options);
}

/** Lines kept per process: enough to explain a failure, bounded for long runs. */
const MAX_KEPT_LINES = 2000;

export class BenchProcess {
  readonly lines: LogLine[] = [];
  readonly rawOutput: string[] = [];
  private waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];

  private constructor(readonly name: string, readonly child: ChildProcess) {
    if (child.stdout) createInterface({ input: child.stdout }).on('line', (text) => this.onLine(text));
    if (child.stderr) createInterface({ input: child.stderr }).on('line', (text) => this.keepRaw(text));
    child.on('error', (error) => this.keepRaw(`spawn error: ${error.message}`));
    child.on('exit', () => running.delete(this));
    running.add(this);
  }

  /**
   * A camqtt service (its built dist/main.js), with only PATH and HOME from our environment.
   * `nodeArgs` go before the script: Node 20 refuses --cpu-prof in NODE_OPTIONS.
   */
  static service(name: ServiceName, label: string, env: Record<string, string>, nodeArgs: string[] = []): BenchProcess {
    const child = spawnWithDeathSignal(process.execPath, [...nodeArgs, serviceEntries[name]], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new BenchProcess(label, child);
  }

  static adopt(label: string, child: ChildProcess): BenchProcess {
    return new BenchProcess(label, child);
  }

  static command(label: string, file: string, args: string[]): BenchProcess {
    const child = spawnWithDeathSignal(file, args, { cwd: repoRoot, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    return new BenchProcess(label, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  private keepRaw(text: string): void {
    this.rawOutput.push(text);
    if (this.rawOutput.length > MAX_KEPT_LINES) this.rawOutput.splice(0, this.rawOutput.length - MAX_KEPT_LINES);
  }

  private onLine(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      this.keepRaw(text);
      return;
    }
    this.lines.push(line);
    if (this.lines.length > MAX_KEPT_LINES) this.lines.splice(0, this.lines.length - MAX_KEPT_LINES);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.match(line)) return true;
      waiter.resolve(line);
      return false;
    });
  }

  /** The first log line (past or future) that matches; rejects on timeout or exit. */
  async waitForLog(match: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return seen;
    return await new Promise<LogLine>((resolve, reject) => {
      const onExit = (): void => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (code ${this.child.exitCode}) before the expected log line.\n${this.describe()}`));
      };
      const timer = setTimeout(() => {
        this.child.off('exit', onExit);
        reject(new Error(`${this.name}: no matching log line within ${timeoutMs} ms.\n${this.describe()}`));
      }, timeoutMs);
      this.child.once('exit', onExit);
      this.waiters.push({
        match,
        resolve: (line) => {
          clearTimeout(timer);
          this.child.off('exit', onExit);
          resolve(line);
        },
      });
    });
  }

  /** Port of the named listener, from the service's `listening` log line. */
  async port(listener: string, timeoutMs = 20_000): Promise<number> {
    const line = await this.waitForLog((l) => l.msg === 'listening' && l.listener === listener, timeoutMs);
    return Number(line.port);
  }

  describe(): string {
    const tail = [...this.lines.slice(-10).map((l) => JSON.stringify(l)), ...this.rawOutput.slice(-10)];
    return `--- last output of ${this.name} ---\n${tail.join('\n')}`;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Never waits longer than graceMs + 2 s. */
  async stop(graceMs = 4000): Promise<void> {
    if (this.exited || this.child.pid === undefined) {
      running.delete(this);
      return;
    }
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const killTimer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const giveUp = new Promise<void>((resolve) => setTimeout(resolve, graceMs + 2000).unref());
    await Promise.race([exited, giveUp]);
    clearTimeout(killTimer);
    running.delete(this);
  }
}

/** Stops every process still running (the cleanup on error, Ctrl-C and normal exit). */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(2000)));
}

/** Last-resort cleanup when the bench itself exits abruptly: no waiting possible, so SIGKILL. */
export function killAllProcessesNow(): void {
  for (const p of running) {
    if (!p.exited) p.child.kill('SIGKILL');
  }
}

/** A free loopback TCP port (for Mosquitto, which cannot report a port it picked itself). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A bench module of ours (TypeScript, through tsx) as a child process with an IPC channel, under
 * the same parent-death signal as the services.
 */
export function startBenchChild(label: string, modulePath: string): BenchProcess {
  const options: SpawnOptions = { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] };
  const child = spawnWithDeathSignal(process.execPath, ['--import', 'tsx', modulePath], options);
  return BenchProcess.adopt(label, child);
}
