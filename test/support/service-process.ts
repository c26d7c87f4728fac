/**
 * Starts a real camqtt service (its built `dist/main.js`) as a child process for a test, and
 * reads its JSON log lines. Services log `{"msg":"listening","listener":...,"port":N}` once per
 * listener, which is how a test learns the ports of a service started with port 0.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export const serviceEntries = {
  broker: `${repoRoot}broker/dist/main.js`,
  publisher: `${repoRoot}services/publisher/dist/main.js`,
  web: `${repoRoot}web/dist/main.js`,
} as const;

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export class ServiceProcess {
  readonly lines: LogLine[] = [];
  /** Non-JSON output (stderr, crashes), kept to explain a failure. */
  readonly rawOutput: string[] = [];
  private waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  exitCode: number | null = null;

  private constructor(readonly name: string, readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (text) => this.onLine(text));
    createInterface({ input: child.stderr }).on('line', (text) => this.rawOutput.push(text));
    child.on('exit', (code) => {
      this.exitCode = code;
    });
  }

  static start(name: keyof typeof serviceEntries | string, env: Record<string, string>, args: string[] = []): ServiceProcess {
    const entry = name in serviceEntries ? serviceEntries[name as keyof typeof serviceEntries] : name;
    const child = spawn(process.execPath, [entry, ...args], {
      cwd: repoRoot,
      // A clean environment: only PATH/HOME from ours, so a developer's .env or shell cannot leak in.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'debug', ...env },
      stdio: 'pipe',
    });
    return new ServiceProcess(name, child);
  }

  private onLine(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      this.rawOutput.push(text);
      return;
    }
    this.lines.push(line);
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
      const timer = setTimeout(() => {
        reject(new Error(`${this.name}: no matching log line within ${timeoutMs} ms.\n${this.describe()}`));
      }, timeoutMs);
      const onExit = (): void => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (code ${this.exitCode}) before the expected log line.\n${this.describe()}`));
      };
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

  describe(): string {
    const tail = [...this.lines.slice(-15).map((l) => JSON.stringify(l)), ...this.rawOutput.slice(-15)];
    return `--- last output of ${this.name} ---\n${tail.join('\n')}`;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null if killed). */
  async stop(graceMs = 5000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    return this.child.exitCode;
  }
}
