/**
 * Reads settings from the environment (and `.env`), validated: a wrong value is a ConfigError
 * whose message is one line naming the variable.
 */
import { readFileSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';
import { ConfigError } from './setting-values.js';
import { type Config, type SettingName, settings } from './settings.js';

/**
 * Validates the named settings from `env` (default: process.env after loading `.env`).
 * Throws a ConfigError naming the first wrong variable.
 */
export function loadConfig<K extends SettingName>(names: readonly K[], env: NodeJS.ProcessEnv = processEnv()): Config<K> {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const spec = settings[name];
    const raw = env[name]?.trim() || spec.default;
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) {
      const why = parsed.error.issues[0]?.message ?? 'is invalid';
      throw new ConfigError(`${name} ${why} (got ${JSON.stringify(raw)})`);
    }
    out[name] = parsed.data;
  }
  return out as Config<K>;
}

let dotenvLoaded = false;
function processEnv(): NodeJS.ProcessEnv {
  if (!dotenvLoaded) {
    // Values already in the environment win over .env, as with docker compose.
    loadDotenv({ quiet: true });
    dotenvLoaded = true;
  }
  return process.env;
}

/** Reads a file a setting names, turning a failure into a ConfigError naming the setting. */
export function readSettingFile(name: SettingName, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${name} names a file that cannot be read: ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}
