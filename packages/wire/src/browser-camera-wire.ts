/**
 * A browser camera: the viewer page publishing its own device's camera through the relay's
 * WebSocket at /ws/camera (the relay publishes to MQTT for it, see web/src/browser-cameras.ts).
 *
 * Page -> relay:
 *   binary message = one frame: a JPEG already stamped with withFrameMeta (camera, seq, capture
 *                    time on the relay's clock); the relay checks it and publishes it as it is
 *   text message   = JSON `BrowserCameraReport`: what the page now captures (after a command)
 * Relay -> page: text messages, JSON `BrowserCameraEvent`.
 *
 * No Node APIs here: the page bundles this file.
 */
import { z } from 'zod';
import type { ControlCommand } from './control.js';
import { isCameraId } from './topics.js';

/** A browser camera's id is this plus the viewer account's user name: one camera per account. */
export const BROWSER_CAMERA_PREFIX = 'browser-';

/** The camera id of the account `user`; undefined when the name does not make a valid camera id. */
export function browserCameraId(user: string): string | undefined {
  const id = `${BROWSER_CAMERA_PREFIX}${user}`;
  return isCameraId(id) ? id : undefined;
}

export const browserCameraSettingsSchema = z.object({
  width: z.number().int().min(16).max(7680),
  height: z.number().int().min(16).max(4320),
  fps: z.number().int().min(1).max(120),
  quality: z.number().int().min(1).max(100),
  paused: z.boolean(),
});

export type BrowserCameraSettings = z.infer<typeof browserCameraSettingsSchema>;

export const browserCameraReportSchema = z.object({
  type: z.literal('settings'),
  settings: browserCameraSettingsSchema,
  /** Mean ms the page took to encode one frame (grab + JPEG) over the last second. */
  encodeMs: z.number().min(0).max(60_000).optional(),
  /** What the device's camera delivers (the picture is scaled down from it, never up). */
  sourceWidth: z.number().int().min(1).max(100_000).optional(),
  sourceHeight: z.number().int().min(1).max(100_000).optional(),
});

export type BrowserCameraReport = z.infer<typeof browserCameraReportSchema>;

export type BrowserCameraEvent =
  /** First message: the camera id this account publishes as, the relay's clock, and where to start. */
  | { type: 'hello'; camera: string; serverTime: number; settings: BrowserCameraSettings }
  /** A control command for this camera (validated and capped by the relay). */
  | { type: 'control'; command: ControlCommand };

/** Parses the page's text message; an error message instead of throwing. */
export function parseBrowserCameraReport(text: string): BrowserCameraReport | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: 'not JSON' };
  }
  const parsed = browserCameraReportSchema.safeParse(value);
  return parsed.success ? parsed.data : { error: parsed.error.issues[0]?.message ?? 'invalid report' };
}
