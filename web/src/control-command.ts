/**
 * The body of POST /api/cameras/:id/control, checked with the protocol's own command parser before
 * anything reaches the camera's control topic, so the relay never forwards junk and answers a bad
 * body with the same reason the camera would give.
 */
import { InvalidCommandError, parseControlCommand, type ControlCommand } from '@camqtt/wire';

export type { ControlCommand };

export function checkControlCommand(value: unknown): ControlCommand | { error: string } {
  try {
    return parseControlCommand(value);
  } catch (error) {
    if (error instanceof InvalidCommandError) return { error: error.message };
    throw error;
  }
}
