/**
 * Child processes the bench starts (camqtt services, Mosquitto, viewer fleets): the tests' own
 * ServiceProcess, so every one is registered and a crash or Ctrl-C of the bench still stops them.
 */
import type { SpawnOptions } from 'node:child_process';
import { spawnWithDeathSignal } from '@camqtt/service-kit';
import { repoRoot, ServiceProcess } from '@camqtt/test-support';

export { killAllProcessesNow, repoRoot, serviceEntries, ServiceProcess, stopAllProcesses } from '@camqtt/test-support';

/**
 * A camqtt service (by name, or the path of another build's entry) under a label for the bench's
 * tables; `nodeArgs` carry --cpu-prof when profiling.
 */
export function startService(name: string, label: string, env: Record<string, string>, nodeArgs: string[] = []): ServiceProcess {
  return ServiceProcess.start(name, env, [], { label, nodeArgs });
}

export { freePort } from '@camqtt/test-support';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A bench module of ours (TypeScript, through tsx) as a child process with an IPC channel, under
 * the same parent-death signal as the services.
 */
export function startBenchChild(label: string, modulePath: string): ServiceProcess {
  const options: SpawnOptions = {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  };
  const child = spawnWithDeathSignal(process.execPath, ['--import', 'tsx', modulePath], options);
  return ServiceProcess.adopt(label, child);
}
