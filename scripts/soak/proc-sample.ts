/**
 * What /proc tells about a process at one moment: resident memory (VmRSS), open file descriptors
 * and how many of them are sockets (/proc/<pid>/fd), CPU seconds so far (the bench's reader), and
 * its child processes (the publisher's capture helper). Linux only; a process that is gone reads
 * as undefined.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { cpuSeconds } from '../bench/proc-stats.js';

export interface ProcSample {
  rssMiB: number;
  fds: number;
  sockets: number;
  cpuSeconds: number | undefined;
}

export function procSample(pid: number | undefined): ProcSample | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    // A zombie (killed, not yet reaped) has no VmRSS and no fds: it is gone, not empty.
    if (!match) return undefined;
    const fdNames = readdirSync(`/proc/${pid}/fd`);
    let sockets = 0;
    for (const fd of fdNames) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets += 1;
      } catch {
        // Closed between the listing and the read: not counted.
      }
    }
    return { rssMiB: Number(match[1]) / 1024, fds: fdNames.length, sockets, cpuSeconds: cpuSeconds(pid) };
  } catch {
    return undefined;
  }
}

/** The pids of a process's children (every thread's list, as /proc keeps them per thread). */
export function childPids(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    const pids = new Set<number>();
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of text.split(/\s+/)) if (child !== '') pids.add(Number(child));
    }
    return [...pids];
  } catch {
    return [];
  }
}
