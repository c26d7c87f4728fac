/**
 * Commands on `<prefix>/<camera>/control`: one JSON object with any of
 *   fps, quality, width, height   whole numbers in the ranges of VIDEO_FPS, JPEG_QUALITY, VIDEO_*
 *   paused                        true or false
 *   snapshot                      true: send the next frame at SNAPSHOT_QUALITY, flagged as a snapshot
 *   id                            1-64 printable ASCII characters, echoed in the status's lastCommand
 * Anything else, unknown keys included, refuses the whole command, so a typo never half-applies.
 * The relay checks a command with this before forwarding it; the publisher before applying it.
 *
 * No Node APIs here: the page may use it too.
 */

export interface ControlCommand {
  id?: string;
  fps?: number;
  quality?: number;
  width?: number;
  height?: number;
  paused?: boolean;
  snapshot?: true;
}

export class InvalidCommandError extends Error {
  override name = 'InvalidCommandError';

  /** The command's id, when it had a readable one: a refusal echoes it. */
  constructor(message: string, readonly id?: string) {
    super(message);
  }
}

export const CONTROL_RANGES = {
  fps: [1, 120],
  quality: [1, 100],
  width: [16, 7680],
  height: [16, 4320],
} as const;

const ID_PATTERN = /^[\x20-\x7e]{1,64}$/;
const KNOWN_KEYS = 'fps, quality, width, height, paused, snapshot, id';

/** Checks a parsed JSON value; throws InvalidCommandError saying what is wrong. */
export function parseControlCommand(value: unknown): ControlCommand {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidCommandError('not a JSON object');
  const fields = value as Record<string, unknown>;
  const id = typeof fields.id === 'string' && ID_PATTERN.test(fields.id) ? fields.id : undefined;
  const refuse = (why: string): never => {
    throw new InvalidCommandError(why, id);
  };
  const command: ControlCommand = id === undefined ? {} : { id };
  for (const [key, raw] of Object.entries(fields)) {
    if (key === 'id') {
      if (id === undefined) refuse('id must be 1 to 64 printable ASCII characters');
    } else if (key === 'snapshot') {
      if (raw !== true) refuse('snapshot must be true');
      command.snapshot = true;
    } else if (key === 'paused') {
      if (typeof raw !== 'boolean') refuse('paused must be true or false');
      command.paused = raw as boolean;
    } else if (key === 'fps' || key === 'quality' || key === 'width' || key === 'height') {
      const [min, max] = CONTROL_RANGES[key];
      if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) refuse(`${key} must be a whole number from ${min} to ${max}`);
      command[key] = raw as number;
    } else {
      refuse(`unknown key ${JSON.stringify(key)} (known: ${KNOWN_KEYS})`);
    }
  }
  if (Object.keys(command).every((key) => key === 'id')) refuse('empty command');
  return command;
}

/** Parses a control message payload (UTF-8 JSON). */
export function decodeControlCommand(payload: Uint8Array): ControlCommand {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw new InvalidCommandError('not JSON');
  }
  return parseControlCommand(value);
}
