/**
 * The days' segments.jsonl files: appended when a segment closes, rewritten when retention
 * deletes segments. Both go through one queue per file, so a rewrite never loses an append.
 */
import { appendFile, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { segmentEntrySchema, type SegmentEntry } from '@camqtt/wire';

export class SegmentIndex {
  private readonly queues = new Map<string, Promise<unknown>>();

  /** Appends one entry to `path` (a day's segments.jsonl). */
  append(path: string, entry: SegmentEntry): Promise<void> {
    return this.queued(path, () => appendFile(path, `${JSON.stringify(entry)}\n`));
  }

  /** Keeps only the entries `keep` says yes to; removes the file when none remain. */
  rewrite(path: string, keep: (entry: SegmentEntry) => boolean): Promise<void> {
    return this.queued(path, async () => {
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) return;
      const lines = text.split('\n').filter((line) => line.trim() !== '');
      const kept = lines.filter((line) => {
        const parsed = segmentEntrySchema.safeParse(safeJson(line));
        // A line that is not an entry is left for a person to look at.
        return !parsed.success || keep(parsed.data);
      });
      if (kept.length === lines.length) return;
      if (kept.length === 0) {
        await unlink(path);
        return;
      }
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, kept.map((line) => `${line}\n`).join(''));
      await rename(temporary, path);
    });
  }

  private queued(path: string, work: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(path) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.queues.set(path, settled);
    void settled.then(() => {
      if (this.queues.get(path) === settled) this.queues.delete(path);
    });
    return next;
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
