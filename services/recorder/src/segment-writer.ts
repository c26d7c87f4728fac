/**
 * One segment file: one FFmpeg process that reads Matroska (JPEG frames with their capture times)
 * on stdin and writes fragmented MP4, so every finished fragment plays even if the recorder is
 * killed mid-segment. H.264 gets a keyframe (and so a fragment) about every second; the JPEG
 * format is copied as it came, one fragment per second.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { spawnWithDeathSignal } from '@camqtt/service-kit';
import { type RecordFormat, type SegmentEntry, segmentPath } from '@camqtt/wire';
import { MatroskaWriter, type MatroskaVideo } from './matroska-writer.js';

/** How long FFmpeg may take to finish the file after its input ends before it is killed. */
const CLOSE_TIMEOUT_MS = 10_000;
/** FFmpeg's last stderr lines kept for the error message. */
const STDERR_KEEP_CHARS = 2000;
/** Frames FFmpeg's stdin may hold unwritten (about 2 s at 30 fps) before new frames are dropped. */
const MAX_QUEUED_FRAMES = 60;
const MIN_QUEUED_BYTES = 1024 * 1024;

/** The encoder's options, chosen by the recorder bench: the cheapest that keeps 640x480 clear. */
const H264_ARGS = ['-c:v', 'libx264', '-preset', 'superfast', '-tune', 'zerolatency', '-threads', '1', '-pix_fmt', 'yuv420p'];
const H264_KEYFRAMES = ['-force_key_frames', 'expr:gte(t,n_forced*1)'];

export interface SegmentWriterOptions {
  recordDir: string;
  camera: string;
  format: RecordFormat;
  /** Capture time of the first frame: the file's name and time zero. */
  startMs: number;
  video: MatroskaVideo;
  ffmpegPath?: string;
}

export class SegmentFailure extends Error {
  constructor(
    message: string,
    /** True when the cause is a full disk (ENOSPC). */
    readonly diskFull: boolean,
  ) {
    super(message);
  }
}

export function ffmpegArgs(format: RecordFormat, file: string): string[] {
  const codec = format === 'h264' ? [...H264_ARGS, ...H264_KEYFRAMES] : ['-c:v', 'copy'];
  // JPEG frames are all keyframes: a fragment per frame would waste bytes, so one per second.
  const fragments =
    format === 'h264'
      ? ['-movflags', '+frag_keyframe+empty_moov+default_base_moof']
      : ['-movflags', '+empty_moov+default_base_moof', '-frag_duration', '1000000'];
  return [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-f', 'matroska', '-i', 'pipe:0'],
    // Every frame at its own time (no duplicates or drops to a constant rate), in ms.
    ...['-fps_mode', 'passthrough', '-enc_time_base', '-1', '-video_track_timescale', '1000'],
    ...codec,
    ...fragments,
    // Each fragment goes to the file when it is complete, not when FFmpeg's 32 KB buffer fills.
    ...['-flush_packets', '1', '-f', 'mp4', '-y', file],
  ];
}

export class SegmentWriter {
  /** Path relative to RECORD_DIR (recording.ts `segmentPath`). */
  readonly relativePath: string;
  readonly file: string;
  readonly startMs: number;
  frames = 0;
  lastCaptureMs: number;
  /** Frames not written because FFmpeg had not taken the earlier ones. */
  dropped = 0;
  private readonly muxer = new MatroskaWriter();
  private readonly ffmpeg: ChildProcess;
  private readonly exited: Promise<number | null>;
  private stderr = '';
  private failure: Error | undefined;
  private frameBytes = 0;

  constructor(private readonly options: SegmentWriterOptions) {
    this.startMs = options.startMs;
    this.lastCaptureMs = options.startMs;
    this.relativePath = segmentPath(options.camera, options.startMs);
    this.file = join(options.recordDir, this.relativePath);
    // Synchronous, once per segment: the directory usually exists; a full disk throws ENOSPC here.
    mkdirSync(dirname(this.file), { recursive: true });
    this.ffmpeg = spawnWithDeathSignal(options.ffmpegPath ?? 'ffmpeg', ffmpegArgs(options.format, this.file), {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    this.exited = new Promise((resolve) => {
      this.ffmpeg.once('error', (error) => {
        this.failure = error;
        resolve(null);
      });
      this.ffmpeg.once('close', (code) => resolve(code));
    });
    this.ffmpeg.stderr!.setEncoding('utf8');
    this.ffmpeg.stderr!.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_KEEP_CHARS);
    });
    // A dead FFmpeg makes writes fail with EPIPE: the exit says why, this must not crash us.
    this.ffmpeg.stdin!.on('error', (error) => {
      this.failure ??= error;
    });
    this.ffmpeg.stdin!.write(this.muxer.header(options.video));
  }

  /** True while FFmpeg runs and takes frames. */
  get running(): boolean {
    return this.ffmpeg.exitCode === null && this.ffmpeg.signalCode === null && this.failure === undefined;
  }

  /** Why FFmpeg stopped early, if it did. */
  get problem(): SegmentFailure | undefined {
    if (this.running) return undefined;
    return this.describeFailure();
  }

  /** Writes a frame; false when it was dropped because FFmpeg is behind (or gone). */
  write(jpeg: Uint8Array, captureMs: number): boolean {
    if (!this.running) return false;
    const stdin = this.ffmpeg.stdin!;
    this.frameBytes = this.frameBytes === 0 ? jpeg.length : this.frameBytes * 0.9 + jpeg.length * 0.1;
    if (stdin.writableLength > Math.max(MIN_QUEUED_BYTES, this.frameBytes * MAX_QUEUED_FRAMES)) {
      this.dropped++;
      return false;
    }
    // Frames arrive in capture order; one a little earlier than the last keeps the last's time.
    const time = Math.max(captureMs, this.lastCaptureMs);
    stdin.write(this.muxer.frame(jpeg, time - this.startMs));
    this.frames++;
    this.lastCaptureMs = time;
    return true;
  }

  /** Ends the input, waits for FFmpeg to finish the file; the entry for segments.jsonl, or undefined for an empty segment. */
  async close(): Promise<SegmentEntry | undefined> {
    this.ffmpeg.stdin!.end();
    const timer = setTimeout(() => this.ffmpeg.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    const code = await this.exited;
    clearTimeout(timer);
    const bytes = await stat(this.file).then(
      (info) => info.size,
      () => 0,
    );
    if (this.frames === 0 || bytes === 0) {
      await unlink(this.file).catch(() => undefined);
      if (code !== 0) throw this.describeFailure();
      return undefined;
    }
    if (code !== 0) throw this.describeFailure();
    const name = this.relativePath.slice(this.relativePath.lastIndexOf('/') + 1);
    return { file: name, start: this.startMs, end: this.lastCaptureMs, frames: this.frames, bytes, format: this.options.format };
  }

  /** Stops FFmpeg at once (the file keeps its finished fragments). */
  kill(): void {
    this.ffmpeg.kill('SIGKILL');
  }

  private describeFailure(): SegmentFailure {
    const text = `${this.failure?.message ?? ''} ${this.stderr}`.trim();
    const diskFull = /No space left on device|ENOSPC|Disk quota exceeded/i.test(text);
    const last = text.split('\n').filter(Boolean).at(-1) ?? `FFmpeg exited with code ${String(this.ffmpeg.exitCode)}`;
    return new SegmentFailure(diskFull ? `disk full: ${last}` : `FFmpeg failed: ${last}`, diskFull);
  }
}
