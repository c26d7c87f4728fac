/**
 * A control command's own answer over MQTT 5: the relay sends the command with a response topic
 * (`<prefix>/<camera>/answer`) and correlation data of its own, and the camera publishes its
 * answer there with the same correlation data, so each POST gets the answer to its command (over
 * 3.1.1 the answer is only in the camera's status, where the next command may overwrite it).
 */
import { randomBytes } from 'node:crypto';
import { cameraStatusSchema, type CameraStatus } from '@camqtt/wire';

export type CommandAnswer = NonNullable<CameraStatus['lastCommand']>;

/** How long a POST waits for the camera's answer before it says "sent" without one. */
export const ANSWER_TIMEOUT_MS = 2_000;
/** Commands awaiting an answer at once; more is not a person at a page. */
const MAX_PENDING = 1000;
const answerSchema = cameraStatusSchema.shape.lastCommand.unwrap();

export class ControlAnswers {
  private readonly pending = new Map<string, (answer: CommandAnswer | undefined) => void>();

  /** Correlation data for a new command, and the answer to it (undefined: none in time). */
  expect(timeoutMs = ANSWER_TIMEOUT_MS): { correlationData: Buffer; answer: Promise<CommandAnswer | undefined> } {
    const correlationData = randomBytes(16);
    const key = correlationData.toString('hex');
    const answer = new Promise<CommandAnswer | undefined>((resolve) => {
      if (this.pending.size >= MAX_PENDING) {
        resolve(undefined);
        return;
      }
      const timer = setTimeout(() => this.settle(key, undefined), timeoutMs);
      this.pending.set(key, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
    return { correlationData, answer };
  }

  /** An answer arrived; one nobody waits for (late, or another relay's) is ignored. */
  deliver(payload: Buffer, correlationData: Buffer | undefined): void {
    if (!correlationData) return;
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    const parsed = answerSchema.safeParse(value);
    if (parsed.success) this.settle(correlationData.toString('hex'), parsed.data);
  }

  /** Ends every wait (the relay stops). */
  clear(): void {
    for (const key of [...this.pending.keys()]) this.settle(key, undefined);
  }

  private settle(key: string, answer: CommandAnswer | undefined): void {
    const resolve = this.pending.get(key);
    this.pending.delete(key);
    resolve?.(answer);
  }
}
