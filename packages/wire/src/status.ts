/**
 * The retained status message on `<prefix>/<camera>/status`. The publisher sends it on connect,
 * on change and every few seconds; its last will is the offline form.
 */
import { z } from 'zod';
import { redactCredentials } from './redact.js';

export const cameraStatusSchema = z.object({
  camera: z.string(),
  online: z.boolean(),
  /** ms since the Unix epoch when the publisher wrote this status. */
  updatedAt: z.number().optional(),
  source: z.string().optional(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  /** Frames per second asked for. */
  targetFps: z.number().optional(),
  /** Frames per second actually published over the last status period. */
  fps: z.number().optional(),
  quality: z.number().int().optional(),
  framesSent: z.number().int().optional(),
  /** Frames replaced at the publisher's gate because the socket had not taken the previous one. */
  framesDropped: z.number().int().optional(),
  bytesPerSecond: z.number().optional(),
  /** Set while the source fails (camera gone, file missing, URL down). */
  error: z.string().optional(),
  /** True while a {"paused":true} command holds the frames back. */
  paused: z.boolean().optional(),
  /** What the source actually delivers (may differ from width/height/targetFps asked for). */
  sourceWidth: z.number().int().optional(),
  sourceHeight: z.number().int().optional(),
  sourceFps: z.number().optional(),
  /** Pixel format a camera settled on (MJPG, YUYV, ...) or a stream's codec, when known. */
  sourceFormat: z.string().optional(),
  /** True while the source's own JPEGs are published as they are (no decode and re-encode). */
  passthrough: z.boolean().optional(),
  /** JPEG quality actually used, when lower than `quality` (stepped down to fit the size cap). */
  encodeQuality: z.number().int().optional(),
  /** Why the camera does less than asked (fps capped by the broker's message rate, quality stepped down, ...). */
  warnings: z.array(z.string()).optional(),
  /** The answer to the last control command. */
  lastCommand: z
    .object({
      /** The command's "id", echoed so the sender can match its answer. */
      id: z.string().optional(),
      ok: z.boolean(),
      /** Why it was refused (ok false). */
      error: z.string().optional(),
      /** What it asked for beyond VIDEO_MAX_* or the source's size, and what it got instead. */
      capped: z.array(z.string()).optional(),
      /** The settings it changed (values equal to the current ones are left out). */
      changed: z.record(z.string(), z.union([z.number(), z.boolean()])).optional(),
      /** A snapshot command: the seq of the snapshot frame once it was sent. */
      snapshotSeq: z.number().int().optional(),
      /** ms since the Unix epoch when the publisher received the command. */
      at: z.number(),
    })
    .optional(),
});

export type CameraStatus = z.infer<typeof cameraStatusSchema>;

export function offlineStatus(camera: string): CameraStatus {
  return { camera, online: false };
}

/**
 * Parses a status payload; a bad one gives `invalid` (why) instead of throwing. A result, not a
 * union with the status itself: a valid status has an `error` field of its own (the camera's).
 */
export function parseCameraStatus(payload: Uint8Array): { status: CameraStatus } | { invalid: string } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return { invalid: 'status is not JSON' };
  }
  const parsed = cameraStatusSchema.safeParse(value);
  if (!parsed.success) return { invalid: `status does not match the schema: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  return { status: parsed.data };
}

/**
 * The status with credentials taken out of every text in it (the source URL, and errors and
 * warnings that may quote it): the publisher applies it before publishing, the relay again to
 * what it receives, since an older or foreign publisher may not have.
 */
export function redactStatus(status: CameraStatus): CameraStatus {
  const out: CameraStatus = { ...status };
  if (out.source !== undefined) out.source = redactCredentials(out.source);
  if (out.error !== undefined) out.error = redactCredentials(out.error);
  if (out.warnings !== undefined) out.warnings = out.warnings.map(redactCredentials);
  if (out.lastCommand?.error !== undefined) out.lastCommand = { ...out.lastCommand, error: redactCredentials(out.lastCommand.error) };
  return out;
}
