/**
 * Recording: what the recorder service writes, on the broker and on disk, and what the relay and
 * the page read back. One definition for all three.
 *
 * Topics (beside the camera's own, see topics.ts):
 *   <prefix>/<camera>/event      JSON motion events (start, then end), retained: the last event
 *   <prefix>/<camera>/recording  retained JSON: the recorder's state for this camera
 *
 * On disk, under RECORD_DIR (one tree the recorder writes and the relay only reads):
 *   <camera>/<YYYY-MM-DD>/<startMs>.mp4     one segment (UTC day of its first frame; startMs is
 *                                           that frame's capture time, ms since the epoch)
 *   <camera>/<YYYY-MM-DD>/segments.jsonl    a SegmentEntry per finished segment, appended on close
 *   <camera>/<YYYY-MM-DD>/events.jsonl      a MotionEvent per finished event, appended on its end
 * A segment without an entry (being written, or left by a crash) is still playable: its end is
 * the file's modification time.
 * A segment's timestamps start at 0 with its first frame and follow the frames' capture times, so
 * the frame captured at T is (T - startMs) / 1000 s into the file: the relay seeks, cuts clips and
 * takes snapshots by that (FFmpeg writes timestamps from 0 unless told -copyts).
 */
import { z } from 'zod';

/** How frames are stored: H.264 (small, plays in any browser) or the camera's JPEGs as they came. */
export const RECORD_FORMATS = ['h264', 'jpeg'] as const;
export type RecordFormat = (typeof RECORD_FORMATS)[number];

export const RECORD_MODES = ['continuous', 'motion', 'off'] as const;
export type RecordMode = (typeof RECORD_MODES)[number];

export const segmentEntrySchema = z.object({
  /** File name inside the day's directory: `<startMs>.mp4`. */
  file: z.string(),
  /** Capture time of the first and last frame, ms since the epoch. */
  start: z.number(),
  end: z.number(),
  frames: z.number().int(),
  bytes: z.number().int(),
  format: z.enum(RECORD_FORMATS),
});
export type SegmentEntry = z.infer<typeof segmentEntrySchema>;

export const motionEventSchema = z.object({
  type: z.literal('motion'),
  /** `start` when motion begins, `end` when it has been still for a while. */
  state: z.enum(['start', 'end']),
  /** Same id on an event's start and end. */
  id: z.string(),
  camera: z.string(),
  /** Capture time of the first moving frame, and (on `end`) of the last one, ms since the epoch. */
  start: z.number(),
  end: z.number().optional(),
  /** Largest share of the (unmasked) picture that changed, 0..1. */
  score: z.number(),
});
export type MotionEvent = z.infer<typeof motionEventSchema>;

export const recordingStatusSchema = z.object({
  camera: z.string(),
  /** `disk-full` and `error` stop writing until the cause is gone; recording resumes by itself. */
  state: z.enum(['recording', 'waiting', 'off', 'disk-full', 'error']),
  mode: z.enum(RECORD_MODES),
  format: z.enum(RECORD_FORMATS),
  /** Bytes written for this camera over the last hour, scaled to an hour while younger. */
  bytesPerHour: z.number(),
  /** Free bytes on RECORD_DIR's filesystem. */
  diskFreeBytes: z.number(),
  lastError: z.string().optional(),
  /** ms since the epoch when the recorder wrote this. */
  updatedAt: z.number(),
});
export type RecordingStatus = z.infer<typeof recordingStatusSchema>;

/** `2026-11-26` for a capture time: the directory a segment starting then goes in (UTC). */
export function recordingDay(captureTimeMs: number): string {
  return new Date(captureTimeMs).toISOString().slice(0, 10);
}

/** `<camera>/<day>/<startMs>.mp4`, relative to RECORD_DIR. */
export function segmentPath(camera: string, startMs: number): string {
  return `${camera}/${recordingDay(startMs)}/${String(Math.round(startMs))}.mp4`;
}
