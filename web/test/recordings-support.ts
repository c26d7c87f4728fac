/**
 * Recordings as the recorder lays them out (recording.ts), made by FFmpeg from its test pattern:
 * fragmented-MP4 segments (H.264, a keyframe a second, or the JPEGs as MJPEG), their
 * segments.jsonl entries and events.jsonl, and ffprobe to read what the relay sends back.
 */
import { execFile } from 'node:child_process';
import { appendFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { recordingDay, segmentPath, type MotionEvent, type RecordFormat, type SegmentEntry } from '@camqtt/wire';

const run = promisify(execFile);
export const SEGMENT_FPS = 10;

export interface MadeSegment {
  camera: string;
  start: number;
  /** Capture time of the last frame. */
  end: number;
  format: RecordFormat;
  path: string;
  /** `/api/recordings/<camera>/<day>/<start>.mp4` */
  url: string;
}

/**
 * Writes `seconds` of the test pattern at SEGMENT_FPS as `<camera>/<day>/<start>.mp4` under `dir`;
 * with `entry` (the default) also its line in segments.jsonl, as the recorder does on close.
 */
export async function makeSegment(
  dir: string,
  camera: string,
  start: number,
  seconds: number,
  { format = 'h264', entry = true }: { format?: RecordFormat; entry?: boolean } = {},
): Promise<MadeSegment> {
  const relative = segmentPath(camera, start);
  const path = join(dir, relative);
  await mkdir(dirname(path), { recursive: true });
  const codec =
    format === 'h264'
      ? ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', String(SEGMENT_FPS)]
      : ['-c:v', 'mjpeg', '-q:v', '5'];
  await run('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=320x240:rate=${SEGMENT_FPS}`,
    '-t',
    String(seconds),
    ...codec,
    '-movflags',
    '+frag_keyframe+empty_moov+default_base_moof',
    '-f',
    'mp4',
    path,
  ]);
  const frames = seconds * SEGMENT_FPS;
  const end = start + (frames - 1) * (1000 / SEGMENT_FPS);
  if (entry) {
    const line: SegmentEntry = { file: `${start}.mp4`, start, end, frames, bytes: (await stat(path)).size, format };
    await appendFile(join(dirname(path), 'segments.jsonl'), `${JSON.stringify(line)}\n`);
  }
  return { camera, start, end, format, path, url: `/api/recordings/${relative}` };
}

/** Appends finished motion events to their day's events.jsonl. */
export async function writeEvents(dir: string, events: MotionEvent[]): Promise<void> {
  for (const event of events) {
    const file = join(dir, event.camera, recordingDay(event.start), 'events.jsonl');
    await mkdir(dirname(file), { recursive: true });
    await appendFile(file, `${JSON.stringify(event)}\n`);
  }
}

/** A file that must never be served: next to RECORD_DIR, named like a segment. */
export async function writeSecret(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, 'secret');
}

export interface Probe {
  formatName: string;
  duration: number;
  streams: { codec_type: string; codec_name: string }[];
  frames: number;
}

/** What ffprobe reads from a file: container, duration, streams, and the video frames it counts. */
export async function probe(path: string): Promise<Probe> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-count_frames',
    '-show_entries',
    'format=format_name,duration:stream=codec_type,codec_name,nb_read_frames',
    '-of',
    'json',
    path,
  ]);
  const json = JSON.parse(stdout) as {
    format: { format_name: string; duration: string };
    streams: { codec_type: string; codec_name: string; nb_read_frames?: string }[];
  };
  return {
    formatName: json.format.format_name,
    duration: Number(json.format.duration),
    streams: json.streams,
    frames: Number(json.streams.find((stream) => stream.codec_type === 'video')?.nb_read_frames ?? 0),
  };
}
