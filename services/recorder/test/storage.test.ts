/**
 * The recorder's storage with real parts: retention over RECORD_MAX_GB deletes the oldest
 * segments and their entries; a full disk (a 4 MB tmpfs) stops recording with a clear state and
 * log line and no crash, and recording resumes by itself when space is freed. JPEG format here,
 * which also fills the disk fastest.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { stopAllProcesses, waitFor } from '@camqtt/test-support';
import { type Harness, probe, segmentEntries, segmentFiles, startHarness, startPublisher, startRecorder, Watcher } from './support.js';

const run = promisify(execFile);

describe('recording storage', () => {
  let dir: string;
  let harness: Harness;
  let watcher: Watcher;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'camqtt-recorder-'));
    harness = await startHarness(join(dir, 'provision'), ['cam3', 'cam4']);
    watcher = await Watcher.connect(harness);
  });

  after(async () => {
    await watcher?.close();
    await stopAllProcesses();
    await run('umount', [join(dir, 'full')]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('deletes the oldest segments and their entries when the recordings are over RECORD_MAX_GB', async () => {
    const recordDir = join(dir, 'rec-retention');
    // About 250 KB per 5 s segment: the fourth is over 0.0006 GB (644 KB).
    const recorder = await startRecorder(harness, recordDir, {
      RECORD_CAMERAS: 'cam3',
      RECORD_FORMAT: 'jpeg',
      RECORD_SEGMENT_S: '5',
      RECORD_MAX_GB: '0.0006',
    });
    startPublisher(harness, 'cam3', { VIDEO_WIDTH: '320', VIDEO_HEIGHT: '240', VIDEO_FPS: '5' });
    const first = await waitFor('the first segment entry', async () => (await segmentEntries(recordDir, 'cam3'))[0], 30_000);
    await recorder.waitForLog((line) => line.msg === 'retention: deleted the oldest recordings', 60_000);
    const files = await segmentFiles(recordDir, 'cam3');
    assert.ok(!files.some((file) => basename(file) === first.file), 'the oldest segment is gone');
    const entries = await segmentEntries(recordDir, 'cam3');
    assert.ok(!entries.some((entry) => entry.file === first.file), 'and so is its entry');
    for (const entry of entries)
      assert.ok(
        files.some((file) => basename(file) === entry.file),
        `${entry.file} is listed and on disk`,
      );
    assert.ok(entries.length > 0, 'newer segments stay');
    const probed = await probe(files[0]!);
    assert.equal(probed.codec, 'mjpeg', 'the JPEGs as they came');
    const port = await recorder.port('http');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^camqtt_recorder_frames_recorded_total\{camera="cam3"\} [1-9]/m);
    assert.match(metrics, /^camqtt_recorder_retention_deleted_segments_total\{reason="size"\} [1-9]/m);
    assert.match(metrics, /^camqtt_recorder_camera_state\{camera="cam3",state="recording"\} 1$/m);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    const state = await watcher.state('cam3', (s) => s.state === 'recording');
    assert.equal(state.format, 'jpeg');
    assert.ok(state.diskFreeBytes > 0);
  });

  it('says disk-full on a full disk without crashing, and records again when space is freed', async (t) => {
    const recordDir = join(dir, 'full');
    await mkdir(recordDir);
    try {
      await run('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', recordDir]);
    } catch (error) {
      t.skip(`cannot mount a small tmpfs here (${(error as Error).message.split('\n')[0]})`);
      return;
    }
    const recorder = await startRecorder(harness, recordDir, { RECORD_CAMERAS: 'cam4', RECORD_FORMAT: 'jpeg' });
    startPublisher(harness, 'cam4');
    const full = await watcher.state('cam4', (s) => s.state === 'disk-full', 60_000);
    assert.match(full.lastError ?? '', /disk full/);
    await recorder.waitForLog((line) => String(line.msg).includes('the disk of RECORD_DIR is full'));
    assert.equal(recorder.exited, false, 'the recorder is still up');
    const frames = watcher.frames.length;
    await waitFor('frames still flowing', () => watcher.frames.length > frames + 30);
    // The user frees space: recording resumes by itself.
    for (const file of await segmentFiles(recordDir, 'cam4')) await rm(file);
    const resumedAt = Date.now();
    await watcher.state('cam4', (s) => s.state === 'recording' && s.updatedAt > resumedAt, 30_000);
    await recorder.waitForLog((line) => line.msg === 'recording again');
    assert.equal(recorder.lines.filter((line) => line.msg === 'recording again').length, 1, 'no retrying while the disk was full');
    await waitFor('a new segment', async () => (await segmentFiles(recordDir, 'cam4')).length > 0 && existsSync(recordDir));
  });
});
