/**
 * Retention: deletes the oldest segments, over all cameras, while any is older than
 * RECORD_RETENTION_HOURS or the recordings together are over RECORD_MAX_GB; runs after each
 * segment closes and every minute. The open segments are never deleted. A day's segments.jsonl
 * loses the deleted entries; a day folder with no segments left is removed once the whole day is
 * past the age limit (its motion events go with it, not before).
 */
import { readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isCameraId } from '@camqtt/wire';
import type { SegmentIndex } from './segment-index.js';

export const RETENTION_INTERVAL_MS = 60_000;
const DAY_MS = 86_400_000;
const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const SEGMENT_PATTERN = /^(\d+)\.mp4$/;

interface StoredSegment {
  path: string;
  name: string;
  dayDir: string;
  startMs: number;
  /** Its last write: the end of its recording. */
  endMs: number;
  bytes: number;
}

export interface RetentionOptions {
  recordDir: string;
  /** 0: no age limit. */
  maxAgeMs: number;
  /** 0: no size limit. */
  maxBytes: number;
  index: SegmentIndex;
  /** Files being written now (absolute paths): never deleted. */
  openFiles: () => Set<string>;
  log: Logger;
  onDelete?: (reason: 'age' | 'size') => void;
}

export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** Bytes of recordings counted by the last pass. */
  storedBytes: number | undefined;

  constructor(private readonly options: RetentionOptions) {}

  start(): void {
    this.timer = setInterval(() => this.run(), RETENTION_INTERVAL_MS);
    this.run();
  }

  stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    return this.running ?? Promise.resolve();
  }

  /** Runs a pass now, or right after the one under way. */
  run(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((error: unknown) => this.options.log.error({ err: error }, 'retention pass failed'))
      .finally(() => {
        this.running = undefined;
        if (!this.again) return;
        this.again = false;
        this.run();
      });
  }

  private async pass(): Promise<void> {
    const { maxAgeMs, maxBytes, log, index } = this.options;
    const segments = await this.list();
    let total = segments.reduce((sum, segment) => sum + segment.bytes, 0);
    const open = this.options.openFiles();
    const now = Date.now();
    const deleted: StoredSegment[] = [];
    for (const segment of segments) {
      const tooOld = maxAgeMs > 0 && now - segment.endMs > maxAgeMs;
      const tooBig = maxBytes > 0 && total > maxBytes;
      if (!tooOld && !tooBig) break;
      if (open.has(segment.path)) continue;
      try {
        await unlink(segment.path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      total -= segment.bytes;
      deleted.push(segment);
      this.options.onDelete?.(tooOld ? 'age' : 'size');
    }
    this.storedBytes = total;
    if (deleted.length === 0) return;
    for (const dayDir of new Set(deleted.map((segment) => segment.dayDir))) {
      const gone = new Set(deleted.filter((segment) => segment.dayDir === dayDir).map((segment) => segment.name));
      await index.rewrite(join(dayDir, 'segments.jsonl'), (entry) => !gone.has(entry.file));
      await this.removeDayIfDone(dayDir, now);
    }
    log.info(
      { segments: deleted.length, bytes: deleted.reduce((sum, s) => sum + s.bytes, 0), oldestLeft: segments[deleted.length]?.name },
      'retention: deleted the oldest recordings',
    );
  }

  /** A day with no segments left goes once all of it is older than the age limit. */
  private async removeDayIfDone(dayDir: string, now: number): Promise<void> {
    const names = await readdir(dayDir).catch(() => [] as string[]);
    if (names.some((name) => name.endsWith('.mp4'))) return;
    const day = dayDir.slice(-10);
    const dayEnd = Date.parse(`${day}T00:00:00Z`) + DAY_MS;
    if (this.options.maxAgeMs > 0 && now - dayEnd > this.options.maxAgeMs) await rm(dayDir, { recursive: true, force: true });
  }

  /** Every segment under RECORD_DIR, oldest first. */
  private async list(): Promise<StoredSegment[]> {
    const { recordDir } = this.options;
    const segments: StoredSegment[] = [];
    for (const camera of await readdir(recordDir).catch(() => [] as string[])) {
      if (!isCameraId(camera)) continue;
      for (const day of await readdir(join(recordDir, camera)).catch(() => [] as string[])) {
        if (!DAY_PATTERN.test(day)) continue;
        const dayDir = join(recordDir, camera, day);
        for (const name of await readdir(dayDir).catch(() => [] as string[])) {
          const match = SEGMENT_PATTERN.exec(name);
          if (!match) continue;
          const path = join(dayDir, name);
          const info = await stat(path).catch(() => undefined);
          if (!info) continue;
          segments.push({ path, name, dayDir, startMs: Number(match[1]), endMs: info.mtimeMs, bytes: info.size });
        }
      }
    }
    return segments.sort((a, b) => a.startMs - b.startMs);
  }
}
