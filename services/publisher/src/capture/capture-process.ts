/**
 * The publisher's side of the capture helper (capture-helper.ts): forks it on first use, sends
 * one request at a time and resolves with its reply. The helper is started again after a crash;
 * stop() kills it if it does not finish at once, which also ends a read stuck in the driver.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { redactCredentials } from '@camqtt/wire';
import type { HelperReply, HelperRequest } from './capture-messages.js';

const HELPER_ENTRY = new URL('./capture-helper.js', import.meta.url);
/** How long a helper may take to release the source on stop before it is killed. */
const STOP_GRACE_MS = 200;

interface Pending {
  resolve: (reply: HelperReply) => void;
  reject: (error: Error) => void;
}

export class CaptureProcess {
  private child: ChildProcess | undefined;
  private pending: Pending | undefined;
  private stopped = false;

  /** Sends one request; rejects if the helper exits before answering or the process is stopped. */
  async request(request: HelperRequest): Promise<HelperReply> {
    if (this.stopped) throw new Error('capture stopped');
    if (this.pending) throw new Error('capture helper is busy');
    const child = this.child ?? this.spawn();
    return await new Promise<HelperReply>((resolve, reject) => {
      this.pending = { resolve, reject };
      child.send(request, (error) => {
        if (error) this.settle(new Error(`capture helper unreachable: ${error.message}`));
      });
    });
  }

  /** Asks the helper to release the source and exit; kills it if it is stuck. */
  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child) return;
    const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined);
    // Disconnecting makes an idle helper release the camera and exit by itself.
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  private spawn(): ChildProcess {
    const child = fork(HELPER_ENTRY, [], {
      // Buffers cross as bytes rather than as JSON arrays of numbers.
      serialization: 'advanced',
      // The helper logs nothing; OpenCV/FFmpeg warnings on its stderr land in ours, passed
      // through redactCredentials since their messages may quote the camera's URL.
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    if (child.stderr) createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`${redactCredentials(line)}\n`));
    child.on('message', (reply: HelperReply) => this.settle(reply));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      this.settle(new Error(`capture helper exited (${signal ?? `code ${code}`})`));
    });
    child.on('error', (error) => this.settle(new Error(`capture helper failed: ${error.message}`)));
    return child;
  }

  private settle(outcome: HelperReply | Error): void {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) return;
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }
}
