/**
 * One camera's recording: the open segment, when to end it (RECORD_SEGMENT_S reached, a gap in
 * the frames, a new picture size, the camera offline), its entry in the day's segments.jsonl, and
 * the state the status topic shows. Which frames come here is decided by the service (the mode):
 * `write` records a frame now, `closeSegment` ends the recording until the next `write`.
 */
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { readJpegInfo, recordingDay, type RecordFormat, type RecordingStatus, type SegmentEntry } from '@camqtt/wire';
import type { SegmentIndex } from './segment-index.js';
import { SegmentFailure, SegmentWriter } from './segment-writer.js';

/** Frames further apart than this (a pause, a stalled camera) end the segment: a gap, not a jump. */
export const GAP_MS = 5000;
/** After a failure (full disk, FFmpeg error), how long before opening a segment is tried again. */
const RETRY_MS = 5000;
/** After a full disk, recording starts again once this much is free (so it does not fail again at once). */
export const RESUME_FREE_BYTES = 1024 * 1024;
/** One log line per camera per this long about frames dropped because FFmpeg was behind. */
const DROP_LOG_MS = 60_000;

export type RecorderState = RecordingStatus['state'];

export interface CameraRecorderOptions {
  camera: string;
  recordDir: string;
  format: RecordFormat;
  segmentMs: number;
  index: SegmentIndex;
  log: Logger;
  /** The state or last error changed (the service publishes the status). */
  onChange: () => void;
  /** A segment was closed and its entry appended (retention runs, metrics count). */
  onSegment: (entry: SegmentEntry) => void;
  /** A frame was dropped: `backlog` (FFmpeg behind) or `failed` (no segment could be opened). */
  onDrop: (reason: 'backlog' | 'failed') => void;
  /** A frame went to FFmpeg. */
  onWritten: () => void;
  ffmpegPath?: string;
}

export class CameraRecorder {
  private segment: SegmentWriter | undefined;
  private size: { width: number; height: number } | undefined;
  private failedAt = -Infinity;
  private closing: Promise<void> = Promise.resolve();
  private droppedSinceLog = 0;
  private dropLoggedAt = -Infinity;
  private _state: RecorderState = 'waiting';
  lastError: string | undefined;

  constructor(private readonly options: CameraRecorderOptions) {}

  get camera(): string {
    return this.options.camera;
  }

  get state(): RecorderState {
    return this._state;
  }

  /** The open segment's file (relative to RECORD_DIR), if one is being written. */
  get openFile(): string | undefined {
    return this.segment?.relativePath;
  }

  /** The open segment's file, absolute (retention must not delete it). */
  get openPath(): string | undefined {
    return this.segment?.file;
  }

  /** Records one frame (capture time from its metadata) into the open segment, opening one as needed. */
  write(jpeg: Uint8Array, captureMs: number): void {
    const info = readJpegInfo(jpeg);
    if (!info) return;
    let segment = this.segment;
    if (segment) {
      const problem = segment.problem;
      const sizeChanged = info.width !== this.size?.width || info.height !== this.size.height;
      const gap = captureMs - segment.lastCaptureMs > GAP_MS;
      const full = captureMs - segment.startMs >= this.options.segmentMs;
      if (problem) this.fail(problem);
      if (problem || sizeChanged || gap || full || captureMs < segment.startMs) {
        void this.closeSegment();
        segment = undefined;
      }
    }
    segment ??= this.reopen(captureMs, info);
    if (!segment) this.drop('failed');
    else if (segment.write(jpeg, captureMs)) this.options.onWritten();
    else this.drop(segment.running ? 'backlog' : 'failed');
  }

  /** A new segment, unless a failure is too recent or the disk is still full. */
  private reopen(captureMs: number, video: { width: number; height: number }): SegmentWriter | undefined {
    if (Date.now() - this.failedAt < RETRY_MS) return undefined;
    if (this._state === 'disk-full' && !this.spaceReturned()) {
      this.failedAt = Date.now();
      return undefined;
    }
    return this.open(captureMs, video);
  }

  /** Ends the open segment (its entry is appended once FFmpeg has finished the file). */
  closeSegment(): Promise<void> {
    const segment = this.segment;
    if (!segment) return this.closing;
    this.segment = undefined;
    if (this._state === 'recording') this.setState('waiting');
    this.closing = this.closing.then(() => this.finish(segment));
    return this.closing;
  }

  /** Kills FFmpeg without finishing the file (the recorder is going down hard). */
  kill(): void {
    this.segment?.kill();
  }

  private open(captureMs: number, video: { width: number; height: number }): SegmentWriter | undefined {
    const { recordDir, camera, format, ffmpegPath } = this.options;
    try {
      const segment = new SegmentWriter({ recordDir, camera, format, startMs: captureMs, video, ffmpegPath });
      this.segment = segment;
      this.size = { width: video.width, height: video.height };
      if (this._state !== 'recording') {
        if (this._state === 'disk-full' || this._state === 'error')
          this.options.log.info({ camera, file: segment.relativePath }, 'recording again');
        this.lastError = undefined;
        this.setState('recording');
      }
      return segment;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      this.fail(new SegmentFailure(`cannot create the segment's folder: ${(error as Error).message}`, code === 'ENOSPC'));
      return undefined;
    }
  }

  private async finish(segment: SegmentWriter): Promise<void> {
    const { camera, recordDir, log } = this.options;
    let entry: SegmentEntry | undefined;
    try {
      entry = await segment.close();
    } catch (error) {
      if (error instanceof SegmentFailure) this.fail(error);
      else log.error({ camera, err: error }, 'segment could not be finished');
      // FFmpeg failed part-way: the fragments it finished still play; without an entry the
      // relay lists the file up to its modification time (recording.ts).
      return;
    }
    if (!entry) return;
    const index = join(recordDir, camera, recordingDay(entry.start), 'segments.jsonl');
    try {
      await this.options.index.append(index, entry);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      this.fail(new SegmentFailure(`cannot append to segments.jsonl: ${(error as Error).message}`, code === 'ENOSPC'));
      return;
    }
    log.debug({ camera, file: entry.file, frames: entry.frames, bytes: entry.bytes, dropped: segment.dropped }, 'segment written');
    this.options.onSegment(entry);
  }

  private spaceReturned(): boolean {
    try {
      const info = statfsSync(this.options.recordDir);
      return info.bavail * info.bsize >= RESUME_FREE_BYTES;
    } catch {
      return true;
    }
  }

  private fail(failure: SegmentFailure): void {
    this.failedAt = Date.now();
    const state: RecorderState = failure.diskFull ? 'disk-full' : 'error';
    if (this._state === state && this.lastError === failure.message) return;
    this.lastError = failure.message;
    const { camera, recordDir, log } = this.options;
    if (failure.diskFull)
      log.error(
        { camera, recordDir },
        `recording stopped: the disk of RECORD_DIR is full (${failure.message}); it resumes by itself when space is freed`,
      );
    else log.error({ camera, error: failure.message }, `recording stopped: ${failure.message}; retrying every ${RETRY_MS / 1000} s`);
    this.setState(state);
  }

  private drop(reason: 'backlog' | 'failed'): void {
    this.options.onDrop(reason);
    if (reason !== 'backlog') return;
    this.droppedSinceLog++;
    const now = Date.now();
    if (now - this.dropLoggedAt < DROP_LOG_MS) return;
    this.options.log.warn(
      { camera: this.options.camera, dropped: this.droppedSinceLog },
      'frames dropped from the recording: FFmpeg is not keeping up (CPU or disk too slow)',
    );
    this.dropLoggedAt = now;
    this.droppedSinceLog = 0;
  }

  private setState(state: RecorderState): void {
    if (this._state === state) return;
    this._state = state;
    this.options.onChange();
  }
}
