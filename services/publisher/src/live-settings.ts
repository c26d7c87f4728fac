/**
 * The settings a control message may change while the publisher runs. Starts from the env config;
 * the pipeline reads the current values at every frame, so a change applies from the next one.
 */
import { EventEmitter } from 'node:events';
import { decodeControlCommand } from '@camqtt/wire';

export interface StreamSettings {
  fps: number;
  quality: number;
  width: number;
  height: number;
  paused: boolean;
}

export type SettingsPatch = Partial<StreamSettings>;

export interface Command {
  patch: SettingsPatch;
  /** {"snapshot":true}: send the next frame at SNAPSHOT_QUALITY, flagged as a snapshot. */
  snapshot: boolean;
  /** Echoed in the status's lastCommand, so a sender can match the answer to its command. */
  id?: string;
}

/** A control payload as this publisher applies it; throws InvalidCommandError (see protocol). */
export function parseCommand(payload: Uint8Array): Command {
  const { id, snapshot, ...patch } = decodeControlCommand(payload);
  return { patch, snapshot: snapshot === true, ...(id === undefined ? {} : { id }) };
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
