/**
 * What FFmpeg makes from recorded segments for a request, each streamed to the response as it is
 * made:
 *   - a clip between two times: the segments joined by the concat demuxer and copied, not
 *     re-encoded (so it starts at the keyframe at or before `from`), as one fragmented MP4;
 *   - a snapshot at a time: one frame decoded there, as a JPEG;
 *   - MJPEG playback of JPEG-format recordings (browsers do not play MJPEG inside MP4): the JPEGs
 *     copied out at their recorded pace (-re) as multipart/x-mixed-replace, which an <img> shows.
 *
 * Segment timestamps start at 0 with the segment's first frame (what FFmpeg writes by default), so
 * an offset into a segment is the wanted time minus the segment's start.
 */
import type { Response } from 'express';
import type { FfmpegJob, FfmpegJobs } from './ffmpeg-jobs.js';
import type { RecordedSegment } from './recording-store.js';
import type { ViewerIdentity } from './viewer-identity.js';

/** A snapshot that takes longer than this is given up (a broken file, a machine far too busy). */
const SNAPSHOT_TIMEOUT_MS = 15_000;
/** Largest JPEG a snapshot may come out as. */
const SNAPSHOT_MAX_BYTES = 16 * 1024 * 1024;

export type PathedSegment = RecordedSegment & { path: string };

/** The concat demuxer's list: each file once, the first cut in at `from`, the last cut off at `to`. */
export function concatList(segments: readonly PathedSegment[], from: number, to: number | undefined): string {
  return segments
    .map((segment, index) => {
      // file: because the list itself comes through pipe:, which relative names would inherit.
      const lines = [`file 'file:${segment.path.replaceAll("'", "'\\''")}'`];
      if (index === 0 && from > segment.start) lines.push(`inpoint ${seconds(from - segment.start)}`);
      if (to !== undefined && index === segments.length - 1 && to < segment.end) lines.push(`outpoint ${seconds(to - segment.start)}`);
      return lines.join('\n');
    })
    .join('\n')
    .concat('\n');
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

/** FFmpeg reads the concat list from its stdin: no temporary file to clean up. */
const CONCAT_INPUT = ['-f', 'concat', '-safe', '0', '-protocol_whitelist', 'file,pipe,fd', '-i', 'pipe:0'];

export interface StreamOptions {
  purpose: string;
  args: string[];
  /** Written to FFmpeg's stdin (the concat list). */
  input?: string;
  headers: Record<string, string>;
  /** Who asked: the stream ends if their account is removed. */
  viewer: ViewerIdentity;
  /** The viewer's key for the per-viewer job limit (jobOwner). */
  owner: string;
}

/**
 * Runs FFmpeg and streams its stdout as the response body. The headers go out with the first
 * bytes, so an FFmpeg that fails before making any still gets a clear error answer. A client
 * that goes away ends FFmpeg. Returns false when the job limit is reached (nothing was sent).
 */
export function streamFfmpeg(jobs: FfmpegJobs, response: Response, options: StreamOptions): boolean {
  const job = jobs.start(options.purpose, options.args, options.owner, options.viewer);
  if (!job) return false;
  response.on('close', () => job.kill());
  job.child.stdout.once('data', () => response.writeHead(200, options.headers));
  job.child.stdout.pipe(response, { end: false });
  job.child.stdin.end(options.input ?? '');
  void job.done.then(({ code, stderr }) => {
    if (response.headersSent) {
      // Killed for a client that left, or failed half-way: a cut-off body is all that can be said.
      if (code === 0) response.end();
      else response.destroy();
      return;
    }
    if (response.destroyed) return;
    response.status(code === 0 ? 404 : 500).json({ error: code === 0 ? 'nothing to send' : `FFmpeg failed: ${lastLine(stderr)}` });
  });
  return true;
}

/** The frame shown `offsetMs` into `segment`, as a JPEG; undefined when there is none there. */
export async function snapshotAt(
  jobs: FfmpegJobs,
  segment: PathedSegment,
  offsetMs: number,
  owner: string,
): Promise<{ jpeg: Buffer } | { busy: true } | { error: string } | undefined> {
  const job = jobs.start(
    'snapshot',
    [
      // Before -i: seeks to the keyframe before, then decodes up to the exact time.
      '-ss',
      seconds(offsetMs),
      '-i',
      segment.path,
      '-map',
      '0:v:0',
      '-frames:v',
      '1',
      '-c:v',
      'mjpeg',
      '-q:v',
      '2',
      '-f',
      'image2pipe',
      'pipe:1',
    ],
    owner,
  );
  if (!job) return { busy: true };
  job.child.stdin.end();
  const chunks: Buffer[] = [];
  let bytes = 0;
  job.child.stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > SNAPSHOT_MAX_BYTES) job.kill();
    else chunks.push(chunk);
  });
  const { code, stderr } = await withDeadline(job, SNAPSHOT_TIMEOUT_MS);
  if (code !== 0) return { error: code === null ? 'FFmpeg took too long' : `FFmpeg failed: ${lastLine(stderr)}` };
  return bytes === 0 ? undefined : { jpeg: Buffer.concat(chunks) };
}

async function withDeadline(job: FfmpegJob, ms: number): Promise<{ code: number | null; stderr: string }> {
  const timer = setTimeout(() => job.kill(), ms);
  try {
    return await job.done;
  } finally {
    clearTimeout(timer);
  }
}

/** FFmpeg's arguments for a clip: the list's segments copied into one fragmented MP4 on stdout. */
export function clipArgs(): string[] {
  return [
    ...CONCAT_INPUT,
    '-map',
    '0:v:0',
    '-c',
    'copy',
    // Fragmented: it can be written to a pipe (no seeking back to write the index) and played
    // while it downloads; every player that plays MP4 reads it.
    '-movflags',
    '+frag_keyframe+empty_moov+default_base_moof',
    '-f',
    'mp4',
    'pipe:1',
  ];
}

/** FFmpeg's arguments for MJPEG playback: the recorded JPEGs as they are, at their recorded pace. */
export function mjpegPlaybackArgs(): string[] {
  return ['-re', ...CONCAT_INPUT, '-map', '0:v:0', '-c:v', 'copy', '-f', 'mpjpeg', 'pipe:1'];
}

/** FFmpeg's mpjpeg muxer separates parts with `--ffmpeg`. */
export const MJPEG_PLAYBACK_TYPE = 'multipart/x-mixed-replace; boundary=ffmpeg';

function lastLine(text: string): string {
  return text.split('\n').filter(Boolean).at(-1) ?? 'no reason given';
}
