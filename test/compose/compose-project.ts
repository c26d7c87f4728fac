/**
 * A copy of this checkout set up the way the README tells a stranger to (`cp .env.example .env`
 * plus the README's own edits), driven with the Compose CLI a user has: `docker compose` (v2), or
 * `docker-compose` (1.29) where v2 is missing, as on Debian bookworm.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '@camqtt/test-support';

const run = promisify(execFile);
export const composeCommand: string[] =
  spawnSync('docker', ['compose', 'version']).status === 0 ? ['docker', 'compose'] : ['docker-compose'];

export { freePort } from '@camqtt/test-support';

/** The lines of the README's "No camera?" block: the edits it tells a user to make in .env. */
export function readmeNoCameraEdits(): Record<string, string> {
  const readme = readFileSync(`${repoRoot}README.md`, 'utf8');
  const block = /No camera\?[\s\S]*?```[a-z]*\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no "No camera?" code block');
  return Object.fromEntries(
    block
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
}

/** Sets `NAME=value` lines in a .env text, replacing the file's own line for each name. */
export function editEnv(text: string, edits: Record<string, string>): string {
  let out = text;
  for (const [name, value] of Object.entries(edits)) {
    const line = new RegExp(`^${name}=.*$`, 'm');
    out = line.test(out) ? out.replace(line, `${name}=${value}`) : `${out}\n${name}=${value}\n`;
  }
  return out;
}

export class ComposeProject {
  readonly dir: string;
  readonly name = `camqtt-test-${process.pid}-${Math.random().toString(16).slice(2, 6)}`;

  /**
   * A fresh copy of the checkout (tracked files and new ones git does not ignore, as a clone of
   * this state would have), with .env made from .env.example and `edits`. The OpenCV addon that
   * CI exported into .build-cache/ comes along, so the publisher image need not compile it again.
   */
  constructor(
    edits: Record<string, string>,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'camqtt-clone-'));
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot })
      .toString('utf8')
      .split('\0')
      .filter((file) => file !== '' && existsSync(join(repoRoot, file)));
    const archive = execFileSync('tar', ['-C', repoRoot, '--null', '-T', '-', '-cf', '-'], { input: files.join('\0'), maxBuffer: 1 << 30 });
    execFileSync('tar', ['-C', this.dir, '-xf', '-'], { input: archive });
    cpSync(join(repoRoot, '.build-cache'), join(this.dir, '.build-cache'), { recursive: true });
    writeFileSync(join(this.dir, '.env'), editEnv(readFileSync(join(this.dir, '.env.example'), 'utf8'), edits));
  }

  async compose(args: string[], timeoutMs = 20 * 60_000): Promise<string> {
    const [command, ...base] = composeCommand;
    const { stdout } = await run(command!, [...base, '-p', this.name, ...args], {
      cwd: this.dir,
      env: this.env,
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  }

  /** A command inside a running service's container. */
  async exec(service: string, command: string[]): Promise<string> {
    return await this.compose(['exec', '-T', service, ...command], 60_000);
  }

  async containerId(service: string): Promise<string> {
    return (await this.compose(['ps', '-q', service])).trim();
  }

  async inspect(service: string, format: string): Promise<string> {
    const { stdout } = await run('docker', ['inspect', '--format', format, await this.containerId(service)]);
    return stdout.trim();
  }

  async down(): Promise<void> {
    await this.compose(['down', '-v', '--remove-orphans']).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms${last instanceof Error ? ` (${last.message})` : ''}`);
}
