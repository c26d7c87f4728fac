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
