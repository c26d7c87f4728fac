/**
 * The clock every timestamp in the bench is on: the same epoch clock the publisher stamps
 * captureTime with and the relay stamps receivedAt with (packages/wire/src/epoch-clock.ts),
 * sub-millisecond and consistent across the processes of this machine.
 */
export { epochNowMs as nowMs } from '@camqtt/wire';
