/**
 * The relay's FFmpeg runs (clips, snapshots, MJPEG playback of recordings), never more than
 * `limit` at once and `perOwnerLimit` for one viewer (an account, or an address for the shared
 * password), so one viewer cannot take every slot: a request over a limit is answered "busy" at
 * once instead of waiting in a queue that could grow without bound. Each FFmpeg dies with the relay (spawnWithDeathSignal),
 * and stop() ends the ones running.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Logger } from 'pino';
import { spawnWithDeathSignal } from '@camqtt/service-kit';
import type { RelayMetrics } from './relay-metrics.js';
import type { ViewerIdentity } from './viewer-identity.js';

/** Enough of FFmpeg's stderr to say why it failed. */
const STDERR_KEEP_BYTES = 2048;

export interface FfmpegJob {
  child: ChildProcessWithoutNullStreams;
  /** Resolves when FFmpeg has exited: its exit code (null when killed) and the end of its stderr. */
  done: Promise<{ code: number | null; stderr: string }>;
  /** Ends FFmpeg now (the client went away, or it took too long). */
  kill(): void;
  /** Who asked for it: a stream of an account removed meanwhile is ended (endRevoked). */
  viewer: ViewerIdentity | undefined;
  /** The viewer's key for perOwnerLimit. */
  owner: string;
}

export class FfmpegJobs {
  private readonly running = new Set<FfmpegJob>();

  constructor(
    private readonly limit: number,
    private readonly perOwnerLimit: number,
    private readonly log: Logger,
    private readonly metrics: RelayMetrics,
    private readonly ffmpeg = 'ffmpeg',
  ) {}

  get size(): number {
    return this.running.size;
  }

  /** Starts FFmpeg with `args` for `owner` if fewer than the limits run; undefined when busy. */
  start(purpose: string, args: string[], owner: string, viewer?: ViewerIdentity): FfmpegJob | undefined {
    const owners = [...this.running].filter((job) => job.owner === owner).length;
    if (this.running.size >= this.limit || owners >= this.perOwnerLimit) {
      this.metrics.recordingJobs.inc({ kind: purpose, result: 'busy' });
      return undefined;
    }
    const child = spawnWithDeathSignal(this.ffmpeg, ['-hide_banner', '-loglevel', 'error', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    }) as ChildProcessWithoutNullStreams;
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP_BYTES);
    });
    // A client gone before FFmpeg read its input list must not crash the relay with EPIPE.
    child.stdin.on('error', () => {});
    const job: FfmpegJob = {
      child,
      done: new Promise((resolve) => {
        // Not started at all (no ffmpeg on the PATH): there may be no 'close' after this.
        child.once('error', (error) => resolve({ code: -1, stderr: `${stderr}${error.message}` }));
        child.once('close', (code) => resolve({ code, stderr: stderr.trim() }));
      }),
      kill: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
      viewer,
      owner,
    };
    this.running.add(job);
    this.metrics.recordingJobsRunning.set(this.running.size);
    this.log.debug({ purpose, jobs: this.running.size }, 'FFmpeg started');
    void job.done.then(({ code, stderr: text }) => {
      this.running.delete(job);
      this.metrics.recordingJobsRunning.set(this.running.size);
      this.metrics.recordingJobs.inc({ kind: purpose, result: code === 0 ? 'ok' : 'failed' });
      if (code !== 0 && code !== null) this.log.warn({ purpose, code, stderr: text }, 'FFmpeg failed');
    });
    return job;
  }

  stop(): void {
    for (const job of this.running) job.kill();
  }

  /** Ends the clips and playbacks of viewers whose account was removed or whose password changed. */
  endRevoked(): void {
    for (const job of this.running) {
      if (job.viewer === undefined || job.viewer.stillValid()) continue;
      this.log.info({ user: job.viewer.user }, 'viewer account removed or password changed, ending its recording stream');
      job.kill();
    }
  }
}
