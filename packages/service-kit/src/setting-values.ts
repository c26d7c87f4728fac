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
/** A share of something, 0..1 (0.005 is half a percent). */
export const fraction = z.coerce
  .number({ error: 'must be a number from 0 to 1' })
  .min(0, { error: 'must be at least 0' })
  .max(1, { error: 'must be at most 1' });

/** A rectangle of the picture as fractions of its width and height, from its top-left corner. */
export interface PictureRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

const RECT_PATTERN = /^\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*$/;
const MASK_ERROR = 'must be rectangles x,y,width,height as fractions of the picture (0-1), separated by ; (e.g. 0,0,1,0.1;0.8,0.8,0.2,0.2)';

/** Rectangles written `x,y,width,height;...` in fractions of the picture (resolution-free, so a size change keeps the mask). */
export const pictureRects = z.string().transform((value, context): PictureRect[] => {
  const rects: PictureRect[] = [];
  for (const item of value.split(';').filter((entry) => entry.trim() !== '')) {
    const match = RECT_PATTERN.exec(item);
    const [x, y, width, height] = (match?.slice(1) ?? []).map(Number);
    if (x === undefined || y === undefined || width === undefined || height === undefined || [x, y, width, height].some(Number.isNaN)) {
      context.addIssue({ code: 'custom', message: MASK_ERROR });
      return z.NEVER;
    }
    if (x + width > 1 + 1e-9 || y + height > 1 + 1e-9 || width <= 0 || height <= 0) {
      context.addIssue({ code: 'custom', message: `${MASK_ERROR}; ${item.trim()} does not fit in the picture` });
      return z.NEVER;
    }
    rects.push({ x, y, width, height });
  }
  return rects;
});
