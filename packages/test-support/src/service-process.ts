/**
 * A camqtt service (its built `dist/main.js`) or another program as a child process, for the tests
 * and the bench: spawned with a clean environment, its JSON log lines collected, and registered so
 * that a crash or Ctrl-C of the parent still stops it. Services log
 * `{"msg":"listening","listener":...,"port":N}` once per listener, which is how a caller learns the
 * ports of a service started with port 0.
 */
import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnWithDeathSignal } from '@camqtt/service-kit';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export const serviceEntries = {
  broker: `${repoRoot}broker/dist/main.js`,
  publisher: `${repoRoot}services/publisher/dist/main.js`,
  web: `${repoRoot}web/dist/main.js`,
  recorder: `${repoRoot}services/recorder/dist/main.js`,
} as const;

export type ServiceName = keyof typeof serviceEntries;
export type LogLine = Record<string, unknown> & { msg?: string; level?: number; time?: number };

/** Every process started and not yet stopped: what `stopAllProcesses` has to stop. */
const running = new Set<ServiceProcess>();

/** Lines kept per process: enough to explain a failure, bounded for long runs. */
const MAX_KEPT_LINES = 5000;

export class ServiceProcess {
  readonly lines: LogLine[] = [];
  /** Non-JSON output (stderr, crashes), kept to explain a failure. */
  readonly rawOutput: string[] = [];
  private waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    if (child.stdout) createInterface({ input: child.stdout }).on('line', (text) => this.onLine(text));
    if (child.stderr) createInterface({ input: child.stderr }).on('line', (text) => this.keepRaw(text));
    child.on('error', (error) => this.keepRaw(`spawn error: ${error.message}`));
    child.on('exit', () => running.delete(this));
    running.add(this);
  }

  /**
   * A camqtt service by name, or any Node script by path, with only PATH and HOME from our
   * environment (so a developer's .env or shell cannot leak in). `nodeArgs` go before the script:
   * Node 20 refuses --cpu-prof in NODE_OPTIONS.
   */
  static start(
    service: string,
    env: Record<string, string>,
    args: string[] = [],
    options: { label?: string; nodeArgs?: string[] } = {},
  ): ServiceProcess {
    const entry = service in serviceEntries ? serviceEntries[service as ServiceName] : service;
    const child = spawnWithDeathSignal(process.execPath, [...(options.nodeArgs ?? []), entry, ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'debug', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServiceProcess(options.label ?? service, child);
  }

  /** Another program (e.g. Mosquitto), with only PATH from our environment. */
  static command(label: string, file: string, args: string[]): ServiceProcess {
    const child = spawnWithDeathSignal(file, args, {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServiceProcess(label, child);
  }

  /** A child spawned elsewhere, for the same log collection and cleanup. */
  static adopt(label: string, child: ChildProcess): ServiceProcess {
    return new ServiceProcess(label, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exitCode(): number | null {
    return this.child.exitCode;
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

  /** Resolves with the first log line (past or future) that matches; rejects on timeout or exit. */
  async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
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

  /** Port of the named listener, from its `listening` log line. */
  async port(listener: string, timeoutMs = 15_000): Promise<number> {
    const line = await this.waitForLog((l) => l.msg === 'listening' && l.listener === listener, timeoutMs);
    return Number(line.port);
  }

  /**
   * Sends `message` over the IPC channel and resolves with the child's next message; rejects
   * with the child's own words on an `{type:'error', message}` reply, or when it exits or does
   * not answer within `timeoutMs`. One request at a time: replies carry no id.
   */
  async request<Reply extends { type: string }>(message: { type: string }, timeoutMs: number): Promise<Reply> {
    const child = this.child;
    return await new Promise<Reply>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onMessage = (reply: Reply & { message?: string }): void => {
        cleanup();
        if (reply.type === 'error') reject(new Error(`${this.name}: ${reply.message ?? 'error'}`));
        else resolve(reply);
      };
      const onExit = (): void => {
        cleanup();
        reject(
          new Error(
            `${this.name} exited (code ${child.exitCode}, signal ${child.signalCode}) during "${message.type}".\n${this.describe()}`,
          ),
        );
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: no answer to "${message.type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (this.exited || !child.connected) onExit();
      else child.send(message);
    });
  }

  describe(): string {
    const tail = [...this.lines.slice(-15).map((l) => JSON.stringify(l)), ...this.rawOutput.slice(-15)];
    return `--- last output of ${this.name} ---\n${tail.join('\n')}`;
  }

  /**
   * SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null if killed by a signal).
   * Never waits longer than graceMs + 2 s.
   */
  async stop(graceMs = 5000): Promise<number | null> {
    if (this.exited || this.child.pid === undefined) {
      running.delete(this);
      return this.child.exitCode;
    }
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const killTimer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const giveUp = new Promise<void>((resolve) => setTimeout(resolve, graceMs + 2000).unref());
    await Promise.race([exited, giveUp]);
    clearTimeout(killTimer);
    running.delete(this);
    return this.child.exitCode;
  }
}

/** Stops every process still running (cleanup on error, Ctrl-C and normal exit). */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(2000)));
}

/** Last-resort cleanup when the parent exits abruptly: no waiting possible, so SIGKILL. */
export function killAllProcessesNow(): void {
  for (const p of running) {
    if (!p.exited) p.child.kill('SIGKILL');
  }
}
