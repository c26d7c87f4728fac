/**
 * Finished motion events on disk, for the page's timeline: one MotionEvent per line in
 * `<RECORD_DIR>/<camera>/<day of its start>/events.jsonl` (recording.ts), appended on its end.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { recordingDay, type MotionEvent } from '@camqtt/wire';

export function eventLogPath(recordDir: string, event: MotionEvent): string {
  return join(recordDir, event.camera, recordingDay(event.start), 'events.jsonl');
}

/** Appends the ended event; rejects with the file system's error (a full disk) for the caller to log. */
export async function appendEvent(recordDir: string, event: MotionEvent): Promise<void> {
  const path = eventLogPath(recordDir, event);
  await mkdir(join(path, '..'), { recursive: true });
  // One write of one line under 4 KiB: appends from one process land whole, one after the other.
  await appendFile(path, `${JSON.stringify(event)}\n`);
}
