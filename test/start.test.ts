/**
 * `npm start` exactly as the README types it: the stack comes up whatever LOG_LEVEL hides, serves
 * the page, and SIGTERM to npm (what a process manager or `kill` sends) leaves nothing running.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { parse } from 'dotenv';
import { repoRoot } from '@camqtt/test-support';

/** Every process below `pid`, from /proc (children, grandchildren, ...). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat, after the parenthesised command name (which may hold spaces).
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('LOG_LEVEL=warn npm start comes up, serves the page, and SIGTERM to npm stops every service', { timeout: 120_000 }, async (t) => {
  // As after `cp .env.example .env` (values in the environment win over a .env file, as with
  // compose), on any free ports: the defaults may be taken on a developer's machine.
  const dotenv = parse(readFileSync(`${repoRoot}.env.example`, 'utf8'));
  const recordDir = mkdtempSync(join(tmpdir(), 'camqtt-start-recordings-'));
  t.after(() => rmSync(recordDir, { recursive: true, force: true }));
  const npm = spawn('npm', ['start'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...dotenv,
      LOG_LEVEL: 'warn',
      WEB_PORT: '0',
      BROKER_MQTT_PORT: '0',
      BROKER_MQTTS_PORT: '0',
      BROKER_HTTP_PORT: '0',
      RECORD_METRICS_PORT: '0',
      RECORD_DIR: recordDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  createInterface({ input: npm.stderr }).on('line', (line) => output.push(line));
  const upLine = await new Promise<string>((resolve, reject) => {
    createInterface({ input: npm.stdout }).on('line', (line) => {
      output.push(line);
      if (line.startsWith('camqtt is up')) resolve(line);
    });
    npm.once('exit', (code) => reject(new Error(`npm start exited (${code}) before the stack was up:\n${output.join('\n')}`)));
  });
  t.diagnostic(upLine);
  const url = /open (http:\/\/localhost:\d+)/.exec(upLine)?.[1];
  assert.ok(url, `the up line names the page's address: ${upLine}`);
  const page = await fetch(`${url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /camqtt/);
  // The page is up first; the relay's link to the broker follows (a second try for MQTT 3.1.1).
  const deadline = Date.now() + 10_000;
  while (((await (await fetch(`${url}/healthz`)).json()) as { mqtt: string }).mqtt !== 'connected') {
    assert.ok(Date.now() < deadline, 'the relay reaches the bundled broker within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (!existsSync('/dev/video0')) assert.match(upLine, /camera cam1: testsrc/, 'no camera here: the test pattern, as the README says');
  assert.ok(!output.some((line) => / INFO /.test(line)), "LOG_LEVEL=warn holds back the services' info lines");

  const services = descendants(npm.pid!);
  const commands = services.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
  for (const entry of ['broker/dist/main.js', 'services/publisher/dist/main.js', 'web/dist/main.js', 'services/recorder/dist/main.js']) {
    assert.ok(
      commands.some((command) => command.includes(entry)),
      `${entry} runs under npm start`,
    );
  }
  const exited = once(npm, 'exit');
  npm.kill('SIGTERM');
  await exited;
  await until(() => services.every((pid) => !alive(pid)), 10_000, `the services (${services.join(', ')}) to exit after SIGTERM to npm`);
});
