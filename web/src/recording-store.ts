/**
 * The relay's read-only view of RECORD_DIR (the layout is recording.ts's): which cameras and days
 * have recordings, a day's segments and finished motion events, and the segments covering a time
 * span, for playback, clips and snapshots.
 *
 * Every path is built here from a camera id that passed isCameraId, a day that passed DAY_PATTERN
 * and a start time that is a whole number: nothing a request sends is ever used as a path as it
 * came, so no request can reach outside RECORD_DIR.
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isCameraId, motionEventSchema, recordingDay, segmentEntrySchema, type MotionEvent, type RecordFormat } from '@camqtt/wire';

export const DAY_PATTERN = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const SEGMENT_FILE = /^(\d{1,15})\.mp4$/;
const DAY_MS = 86_400_000;
/** A segment's sample description sits in its first bytes (the recorder writes the moov first). */
const CODEC_PROBE_BYTES = 64 * 1024;

/** One segment as the API lists it. */
export interface RecordedSegment {
  /** The number in its file name, `<start>.mp4`: the key in its URL. */
  start: number;
  /** Capture time of its last frame; for a segment still being written (or left by a crash), its file's modification time. */
  end: number;
  format: RecordFormat;
  bytes: number;
  /** True while it has no entry in segments.jsonl: being written, or left by a crash. */
  open: boolean;
}

export interface RecordedDay {
  segments: RecordedSegment[];
  /** Finished motion events whose start is on this day. */
  events: MotionEvent[];
}

export class RecordingStore {
  /** Absolute RECORD_DIR, or undefined when the relay has none. */
  readonly root: string | undefined;

  constructor(recordDir: string) {
    this.root = recordDir === '' ? undefined : resolve(recordDir);
  }

  /** The cameras with a folder in RECORD_DIR, sorted. */
  async cameras(): Promise<string[]> {
    if (!this.root) return [];
    return (await listDir(this.root)).filter((name) => isCameraId(name)).sort();
  }

  /** The days of `camera` with at least one segment file, oldest first. */
  async days(camera: string): Promise<string[]> {
    const folder = this.cameraFolder(camera);
    if (!folder) return [];
    const days = (await listDir(folder)).filter((name) => DAY_PATTERN.test(name)).sort();
    // One unreadable day folder does not hide the others (its own listing says what is wrong).
    const withSegments = await Promise.all(
      days.map(async (day) =>
        (await listDir(join(folder, day)).catch(() => [])).some((name) => SEGMENT_FILE.test(name)) ? day : undefined,
      ),
    );
    return withSegments.filter((day): day is string => day !== undefined);
  }

  /** A day's segments (by start) and finished motion events; empty when there are none. */
  async day(camera: string, day: string): Promise<RecordedDay> {
    const folder = this.dayFolder(camera, day);
    if (!folder) return { segments: [], events: [] };
    const files = (await listDir(folder)).filter((name) => SEGMENT_FILE.test(name));
    const entries = new Map<string, { start: number; end: number; format: RecordFormat }>();
    for (const entry of await readJsonLines(join(folder, 'segments.jsonl'), segmentEntrySchema)) entries.set(entry.file, entry);
    const segments = await Promise.all(
      files.map(async (file): Promise<RecordedSegment | undefined> => {
        const start = Number(SEGMENT_FILE.exec(file)?.[1]);
        const info = await stat(join(folder, file)).catch(() => undefined);
        if (!info) return undefined; // removed by retention meanwhile
        const entry = entries.get(file);
        if (entry) return { start, end: Math.max(entry.end, start), format: entry.format, bytes: info.size, open: false };
        return { start, end: Math.max(info.mtimeMs, start), format: await probeFormat(join(folder, file)), bytes: info.size, open: true };
      }),
    );
    const events = (await readJsonLines(join(folder, 'events.jsonl'), motionEventSchema)).filter((event) => event.camera === camera);
    return {
      segments: segments.filter((segment): segment is RecordedSegment => segment !== undefined).sort((a, b) => a.start - b.start),
      events: events.sort((a, b) => a.start - b.start),
    };
  }

  /** The absolute path of a segment file, built only from checked parts; undefined if a part is not valid. */
  segmentPath(camera: string, day: string, start: number): string | undefined {
    const folder = this.dayFolder(camera, day);
    if (!folder || !Number.isSafeInteger(start) || start < 0) return undefined;
    return join(folder, `${start}.mp4`);
  }

  /** The segments that overlap [from, to], oldest first, with their paths. */
  async segmentsBetween(camera: string, from: number, to: number): Promise<(RecordedSegment & { path: string })[]> {
    // A segment started on the day before `from` may run into it.
    const days = new Set<string>();
    for (let time = from - DAY_MS; time < to; time += DAY_MS) days.add(recordingDay(time));
    days.add(recordingDay(to));
    const found: (RecordedSegment & { path: string })[] = [];
    for (const day of [...days].sort()) {
      for (const segment of (await this.day(camera, day)).segments) {
        const path = this.segmentPath(camera, day, segment.start);
        if (path && segment.start <= to && segment.end >= from) found.push({ ...segment, path });
      }
    }
    return found.sort((a, b) => a.start - b.start);
  }

  private cameraFolder(camera: string): string | undefined {
    return this.root && isCameraId(camera) ? join(this.root, camera) : undefined;
  }

  private dayFolder(camera: string, day: string): string | undefined {
    const folder = this.cameraFolder(camera);
    return folder && DAY_PATTERN.test(day) ? join(folder, day) : undefined;
  }
}

/** What "not there" looks like: no such file, or a file where a folder should be. */
const MISSING = new Set(['ENOENT', 'ENOTDIR']);

/** A folder's entries, or none when it does not exist (no recordings yet is not an error). */
async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if (MISSING.has((error as NodeJS.ErrnoException).code ?? '')) return [];
    throw error;
  }
}

/** The valid lines of a JSON-lines file; a torn last line (a crash mid-append) or junk is skipped. */
async function readJsonLines<T>(
  path: string,
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } },
): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (MISSING.has((error as NodeJS.ErrnoException).code ?? '')) return [];
    throw error;
  }
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed = schema.safeParse(JSON.parse(line));
      if (parsed.success) out.push(parsed.data);
    } catch {
      // Not JSON: skipped, as the contract says of a torn line.
    }
  }
  return out;
}

/**
 * The format of a segment that has no entry yet: H.264 if its sample description says avc1.
 * Read from the file's first bytes rather than by running ffprobe: a day view lists many files.
 */
async function probeFormat(path: string): Promise<RecordFormat> {
  const file = await open(path, 'r').catch(() => undefined);
  if (!file) return 'h264';
  try {
    const buffer = Buffer.alloc(CODEC_PROBE_BYTES);
    const { bytesRead } = await file.read(buffer, 0, CODEC_PROBE_BYTES, 0);
    return buffer.subarray(0, bytesRead).includes('avc1') ? 'h264' : 'jpeg';
  } finally {
    await file.close();
  }
}
