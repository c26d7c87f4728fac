/**
 * CPU and memory of a process from /proc: user+system CPU time (fields 14 and 15 of
 * /proc/<pid>/stat, in clock ticks) and peak resident memory (VmHWM in /proc/<pid>/status).
 * Linux only; anything unreadable (process gone, not Linux) reads as undefined.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of the stat fields; 100 nearly everywhere, but ask. */
const CLOCK_TICKS_PER_SECOND = ((): number => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

/** Seconds of CPU (user + system) the process has used so far. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing paren do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** The process's children (any thread's), from /proc/<pid>/task/<tid>/children; [] when unreadable. */
function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/**
 * Seconds of CPU the process and its live descendants have used: the publisher's capture helper
 * does the decoding and encoding of a camera's frames, so the publisher's cost is the pair's.
 */
export function treeCpuSeconds(pid: number | undefined): number | undefined {
  const own = cpuSeconds(pid);
  if (pid === undefined || own === undefined) return undefined;
  return childPids(pid).reduce((sum, child) => sum + (treeCpuSeconds(child) ?? 0), own);
}

/** Peak resident set size in MiB (VmHWM), over the process's life so far. */
export function peakRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU use of one process (`withChildren`: and its descendants) over a window: start it, later
 * `finish()` gives cores (1.0 = one full core).
 */
export class CpuWindow {
  private readonly startCpu: number | undefined;
  private readonly startWall = performance.now();
  private readonly measure: (pid: number | undefined) => number | undefined;

  constructor(
    private readonly pid: number | undefined,
    withChildren = false,
  ) {
    this.measure = withChildren ? treeCpuSeconds : cpuSeconds;
    this.startCpu = this.measure(pid);
  }

  finish(): { cores: number | undefined; peakRssMiB: number | undefined } {
    const endCpu = this.measure(this.pid);
    const seconds = (performance.now() - this.startWall) / 1000;
    const cores = this.startCpu !== undefined && endCpu !== undefined && seconds > 0 ? (endCpu - this.startCpu) / seconds : undefined;
    return { cores, peakRssMiB: peakRssMiB(this.pid) };
  }
}
