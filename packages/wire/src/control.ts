/**
 * Commands on `<prefix>/<camera>/control`: one JSON object with any of
 *   fps, quality, width, height   whole numbers in the ranges of VIDEO_FPS, JPEG_QUALITY, VIDEO_*
 *   paused                        true or false
 *   snapshot                      true: send the next frame at SNAPSHOT_QUALITY, flagged as a snapshot
 *   id                            1-64 printable ASCII characters, echoed in the status's lastCommand
 * Anything else, unknown keys included, refuses the whole command, so a typo never half-applies.
 * The relay checks a command with this before forwarding it; the publisher before applying it.
 *
 * One name per step:
 *   decodeControlCommand    the message payload (UTF-8 JSON) -> a valid command (decodes, then validates)
 *   validateControlCommand  a JSON value already parsed (an HTTP body) -> a valid command
 *   capControlCommand       a valid command -> the same brought within limits, with a note per cap
 * The first two throw InvalidCommandError saying what is wrong.
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
  constructor(
    message: string,
    readonly id?: string,
  ) {
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
export function validateControlCommand(value: unknown): ControlCommand {
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
      if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max)
        refuse(`${key} must be a whole number from ${min} to ${max}`);
      command[key] = raw as number;
    } else {
      refuse(`unknown key ${JSON.stringify(key)} (known: ${KNOWN_KEYS})`);
    }
  }
  if (Object.keys(command).every((key) => key === 'id')) refuse('empty command');
  return command;
}

/** The most a command may ask for (VIDEO_MAX_WIDTH, VIDEO_MAX_HEIGHT, VIDEO_MAX_FPS, or less). */
export interface ControlLimits {
  maxWidth: number;
  maxHeight: number;
  maxFps: number;
  /** Said in the note when the size is capped, e.g. "VIDEO_MAX_WIDTH x VIDEO_MAX_HEIGHT" or "the source's size". */
  sizeLimit: string;
}

/**
 * `width` x `height` scaled down, aspect ratio kept, until it fits within `maxWidth` x
 * `maxHeight`; never enlarged.
 */
export function fitSize(width: number, height: number, maxWidth: number, maxHeight: number): { width: number; height: number } {
  const scale = Math.min(1, maxWidth / width, maxHeight / height);
  if (scale >= 1) return { width, height };
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * A command brought within `limits`, and a note per value it lowered (for the answer, so the
 * sender learns it got less than it asked for). With the camera's `current` size a command naming
 * only one dimension is fitted with the other one too, keeping the picture's proportions.
 */
export function capControlCommand(
  command: ControlCommand,
  limits: ControlLimits,
  current?: { width?: number; height?: number },
): { command: ControlCommand; capped: string[] } {
  const out: ControlCommand = { ...command };
  const capped: string[] = [];
  if (out.fps !== undefined && out.fps > limits.maxFps) {
    capped.push(`fps ${out.fps} capped to ${limits.maxFps} (VIDEO_MAX_FPS)`);
    out.fps = limits.maxFps;
  }
  if (out.width === undefined && out.height === undefined) return { command: out, capped };
  const width = out.width ?? current?.width;
  const height = out.height ?? current?.height;
  const bound = `${limits.sizeLimit}: ${limits.maxWidth}x${limits.maxHeight}`;
  if (width !== undefined && height !== undefined) {
    const fitted = fitSize(width, height, limits.maxWidth, limits.maxHeight);
    if (fitted.width !== width || fitted.height !== height) {
      capped.push(`size ${width}x${height} capped to ${fitted.width}x${fitted.height} (${bound})`);
      Object.assign(out, fitted);
    }
  } else if (out.width !== undefined && out.width > limits.maxWidth) {
    capped.push(`width ${out.width} capped to ${limits.maxWidth} (${bound})`);
    out.width = limits.maxWidth;
  } else if (out.height !== undefined && out.height > limits.maxHeight) {
    capped.push(`height ${out.height} capped to ${limits.maxHeight} (${bound})`);
    out.height = limits.maxHeight;
  }
  return { command: out, capped };
}

/** Decodes a control message payload (UTF-8 JSON) and validates it. */
export function decodeControlCommand(payload: Uint8Array): ControlCommand {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw new InvalidCommandError('not JSON');
  }
  return validateControlCommand(value);
}
