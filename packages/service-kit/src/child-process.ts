/**
 * Starting a camqtt service (or any program) as a child that cannot outlive its parent: what
 * `npm start`, the tests and the bench all need.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Children get SIGTERM from the kernel if the parent dies without cleaning up (a crash, SIGKILL):
 * util-linux's setpriv sets the parent-death signal and then execs, so the pid stays the child's.
 */
const SETPRIV = '/usr/bin/setpriv';
const deathSignalWrapper = existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'TERM', '--'] : [];

export function spawnWithDeathSignal(file: string, args: string[], options: SpawnOptions): ChildProcess {
  const [wrapper, ...wrapperArgs] = deathSignalWrapper;
  return wrapper ? spawn(wrapper, [...wrapperArgs, file, ...args], options) : spawn(file, args, options);
}
