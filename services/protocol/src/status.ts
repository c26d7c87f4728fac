/**
 * The retained status message on `<prefix>/<camera>/status`. The publisher sends it on connect,
 * on change and every few seconds; its last will is the offline form.
 */
import { z } from 'zod';

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
});

export type CameraStatus = z.infer<typeof cameraStatusSchema>;

export function offlineStatus(camera: string): CameraStatus {
  return { camera, online: false };
}

/** Parses a status payload; returns an error message instead of throwing. */
export function parseCameraStatus(payload: Uint8Array): CameraStatus | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return { error: 'status is not JSON' };
  }
  const parsed = cameraStatusSchema.safeParse(value);
  if (!parsed.success) return { error: `status does not match the schema: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  return parsed.data;
}
