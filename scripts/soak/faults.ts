/**
 * The soak's faults, on a fixed schedule: after the warm-up, a cycle (--cycle-minutes, 5 by
 * default, or shorter so a short run still has one) of a broker kill -9 and restart, a relay
 * restart (first cycle only: a relay restarted every 5 minutes would never live long enough to
 * show a slow leak, and the relay is what the churn works on), a publisher's network dropped
 * silently, the video file going away and coming back, and a users-file reload; after them a
 * camera's fps goes down to 1 and back by control command. Faults run one after the
 * other; each gives a window (start to end plus the recovery allowance) in which lost frames are
 * the fault's, and a mark from which the viewers' recovery is timed.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashPassword, replacePasswordLine } from '@camqtt/service-kit';
import { nowMs } from '../bench/clock.js';
import { sleep } from '../bench/processes.js';
import type { AdminClient } from './admin-client.js';
import type { FleetClient } from './fleet-client.js';
import type { SoakOptions } from './options.js';
import type { SoakStack } from './soak-stack.js';

export const FAULT_KINDS = ['broker-kill', 'relay-restart', 'network-drop', 'source-vanish', 'users-reload'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultWindow {
  kind: FaultKind;
  /** Seconds since the soak started. */
  start: number;
  end: number;
  /** Lost frames seen up to this second are the fault's. */
  excusedUntil: number;
  cameras: string[];
  note?: string;
}

/** A control command that changed a camera's fps (not a fault: frames keep their sequence). */
export interface FpsChange {
  t: number;
  camera: string;
  fps: number;
  sent: boolean;
}

export interface ScheduledFault {
  kind: FaultKind | 'fps-low' | 'fps-back';
  at: number;
}

/** Seconds after the start at which each fault begins. */
export function faultSchedule(options: SoakOptions): ScheduledFault[] {
  const total = options.minutes * 60;
  const warmup = total * options.warmupFraction;
  // The last tenth stays quiet, so the last fault's recovery is inside the run.
  const available = (total - warmup) * 0.9;
  const cycle = Math.min(options.cycleMinutes * 60, available);
  const slot = cycle / (FAULT_KINDS.length + 1);
  const schedule: ScheduledFault[] = [];
  for (let cycleStart = warmup; cycleStart + cycle <= warmup + available + 1e-6; cycleStart += cycle) {
    const first = schedule.length === 0;
    FAULT_KINDS.forEach((kind, i) => {
      if (kind !== 'relay-restart' || first) schedule.push({ kind, at: cycleStart + i * slot });
    });
    schedule.push({ kind: 'fps-low', at: cycleStart + FAULT_KINDS.length * slot });
    schedule.push({ kind: 'fps-back', at: cycleStart + (FAULT_KINDS.length + 0.5) * slot });
  }
  return schedule;
}

/** Every fault has the same bound: the publisher retries a vanished source every 2 s at most. */
export function recoveryBoundSeconds(_kind: FaultKind, options: SoakOptions): number {
  return options.recoverySeconds;
}

export class FaultRunner {
  readonly windows: FaultWindow[] = [];
  readonly fpsChanges: FpsChange[] = [];
  readonly log: string[] = [];
  private guestPresent = false;

  constructor(
    private readonly stack: SoakStack,
    private readonly fleet: FleetClient,
    private readonly admin: AdminClient,
    private readonly options: SoakOptions,
    private readonly startedAt: number,
  ) {}

  private elapsed(): number {
    return (nowMs() - this.startedAt) / 1000;
  }

  /** Runs the schedule until it ends or `stopped()` says so. */
  async run(schedule: ScheduledFault[], stopped: () => boolean): Promise<void> {
    const allCameras = this.stack.cameras.map((c) => c.id);
    const fpsCamera = this.stack.cameras[2]?.id ?? this.stack.cameras[0]!.id;
    for (const fault of schedule) {
      const wait = fault.at - this.elapsed();
      if (wait > 0) await sleep(wait * 1000);
      if (stopped()) return;
      if (fault.kind === 'fps-low' || fault.kind === 'fps-back') {
        const fps = fault.kind === 'fps-low' ? 1 : this.options.fps;
        const sent = await this.admin.setFps(fpsCamera, fps);
        this.fpsChanges.push({ t: this.elapsed(), camera: fpsCamera, fps, sent });
        this.log.push(`${this.elapsed().toFixed(1)} s: ${fpsCamera} fps -> ${fps}${sent ? '' : ' (not sent: broker unreachable)'}`);
        continue;
      }
      const start = this.elapsed();
      const { cameras, note } = await this.inflict(fault.kind, allCameras);
      const end = this.elapsed();
      await this.fleet.mark(this.startedAt + end * 1000, fault.kind, cameras);
      const window = { kind: fault.kind, start, end, excusedUntil: end + recoveryBoundSeconds(fault.kind, this.options), cameras, note };
      this.windows.push(window);
      this.log.push(`${start.toFixed(1)}-${end.toFixed(1)} s: ${fault.kind}${note ? ` (${note})` : ''}`);
    }
  }

  private async inflict(kind: FaultKind, allCameras: string[]): Promise<{ cameras: string[]; note?: string }> {
    const stack = this.stack;
    switch (kind) {
      case 'broker-kill': {
        const exited = new Promise((resolve) => stack.broker.child.once('exit', resolve));
        stack.expectExit(stack.broker);
        stack.broker.child.kill('SIGKILL');
        await exited;
        await stack.startBroker();
        return { cameras: allCameras };
      }
      case 'relay-restart':
        stack.expectExit(stack.relay);
        await stack.relay.stop();
        await stack.startRelay();
        return { cameras: allCameras };
      case 'network-drop': {
        const camera = stack.cameras.find((c) => c.behindProxy);
        if (!camera) return { cameras: [], note: 'one camera: no publisher behind the proxy' };
        stack.proxy.drop();
        await sleep(this.options.faultSeconds * 1000);
        stack.proxy.restore();
        return { cameras: [camera.id] };
      }
      case 'source-vanish': {
        const gone = `${stack.videoFile}.gone`;
        await rename(stack.videoFile, gone);
        await sleep(this.options.faultSeconds * 1000);
        await rename(gone, stack.videoFile);
        return { cameras: [stack.cameras[0]!.id] };
      }
      case 'users-reload': {
        // Adds an account, or takes it away again; the broker sees the file change and is also sent SIGHUP, as an admin would.
        const usersFile = join(stack.provisionDir, 'users');
        const hash = this.guestPresent ? null : await hashPassword(`soak-guest-${Date.now()}`);
        await writeFile(usersFile, replacePasswordLine(await readFile(usersFile, 'utf8'), 'soak-guest', hash));
        this.guestPresent = !this.guestPresent;
        stack.broker.child.kill('SIGHUP');
        return { cameras: allCameras, note: this.guestPresent ? 'account added' : 'account removed' };
      }
    }
  }
}
