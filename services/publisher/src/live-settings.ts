/**
 * The settings a control message may change while the publisher runs. Starts from the env config;
 * the pipeline reads the current values at every frame, so a change applies from the next one.
 */
import { EventEmitter } from 'node:events';

export interface StreamSettings {
  fps: number;
  quality: number;
  width: number;
  height: number;
  paused: boolean;
}

export type SettingsPatch = Partial<StreamSettings>;

/** Ranges match the VIDEO_* / JPEG_QUALITY settings in the config schema. */
const RANGES = {
  fps: [1, 120],
  quality: [1, 100],
  width: [16, 7680],
  height: [16, 4320],
} as const;

export class InvalidCommandError extends Error {
  override name = 'InvalidCommandError';
}

/**
 * Parses a control payload: a JSON object with any of fps, quality, width, height (whole numbers
 * in range) and paused (boolean). Anything else, including unknown keys, is rejected as a whole,
 * so a typo never half-applies.
 */
export function parseCommand(payload: Uint8Array): SettingsPatch {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw new InvalidCommandError('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidCommandError('not a JSON object');
  const patch: SettingsPatch = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'paused') {
      if (typeof raw !== 'boolean') throw new InvalidCommandError('paused must be true or false');
      patch.paused = raw;
    } else if (key === 'fps' || key === 'quality' || key === 'width' || key === 'height') {
      const [min, max] = RANGES[key];
      if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) {
        throw new InvalidCommandError(`${key} must be a whole number from ${min} to ${max}`);
      }
      patch[key] = raw;
    } else {
      throw new InvalidCommandError(`unknown key ${JSON.stringify(key)} (known: fps, quality, width, height, paused)`);
    }
  }
  if (Object.keys(patch).length === 0) throw new InvalidCommandError('empty command');
  return patch;
}

export class LiveSettings extends EventEmitter<{ change: [changed: SettingsPatch] }> {
  private current: StreamSettings;

  constructor(initial: StreamSettings) {
    super();
    this.current = { ...initial };
  }

  get value(): Readonly<StreamSettings> {
    return this.current;
  }

  /** Applies a patch; returns (and emits) what actually changed. */
  apply(patch: SettingsPatch): SettingsPatch {
    const changed: SettingsPatch = {};
    for (const key of Object.keys(patch) as Array<keyof StreamSettings>) {
      const next = patch[key];
      if (next === undefined || next === this.current[key]) continue;
      Object.assign(changed, { [key]: next });
    }
    if (Object.keys(changed).length > 0) {
      this.current = { ...this.current, ...changed };
      this.emit('change', changed);
    }
    return changed;
  }
}
