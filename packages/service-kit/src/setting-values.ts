/**
 * The kinds of value a setting can hold, each with the one-line error a wrong value gets.
 */
import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface Setting<S extends z.ZodType> {
  /** One line for `.env.example` and error messages. */
  doc: string;
  /** Used when the variable is unset or empty. */
  default: string;
  schema: S;
}

export function setting<S extends z.ZodType>(doc: string, defaultValue: string, schema: S): Setting<S> {
  return { doc, default: defaultValue, schema };
}

export const int = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });
export const port = int(0, 65535);
export const portOrOff = z.union([z.literal('off'), port], { error: 'must be a port number (0-65535) or off' });
export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => ['true', '1', 'yes'].includes(v));
export const text = z.string();
export const hostList = z
  .string()
  .refine(
    (value) =>
      value.split(',').every((entry) => entry.trim() === '' || /^([a-z0-9_-]+(\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])$/i.test(entry.trim())),
    { error: 'must be host names or addresses without scheme or port, comma-separated' },
  );
export const trustProxy = z.string().regex(/^(true|false|\d+|[\w.:/]+(\s*,\s*[\w.:/]+)*)$/i, {
  error: 'must be true, false, a number of hops, or addresses and subnets (loopback, 10.0.0.0/8), comma-separated',
});
export const mqttUrl = z.string().regex(/^(mqtt|mqtts|ws|wss):\/\/[^\s]+$/, { error: 'must be an mqtt://, mqtts://, ws:// or wss:// URL' });
