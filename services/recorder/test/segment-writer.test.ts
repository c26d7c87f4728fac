/**
 * One segment without the rest of the service: FFmpeg reads the recorder's Matroska stream and
 * keeps every frame at its own time, across the 32.7 s a Matroska cluster can span; and a FFmpeg
 * that stops reading costs a bounded buffer, not memory without end.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SegmentWriter } from '../src/segment-writer.js';
import { probe } from './support.js';

describe('a segment', () => {
  let dir: string;
  let jpegs: Buffer[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'camqtt-segment-'));
    const frames = join(dir, 'frames');
    execFileSync('mkdir', [frames]);
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x240:rate=5',
      '-frames:v',
      '20',
      '-q:v',
      '8',
      join(frames, '%03d.jpg'),
    ]);
    jpegs = readdirSync(frames)
      .sort()
      .map((name) => readFileSync(join(frames, name)));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const format of ['h264', 'jpeg'] as const) {
    it(`${format}: keeps each frame at its capture time over 45 s of uneven frames`, async () => {
      const startMs = Date.UTC(2026, 10, 26, 12) + 0.25;
      const writer = new SegmentWriter({
        recordDir: join(dir, format),
        camera: 'cam1',
        format,
        startMs,
        video: { width: 320, height: 240 },
      });
      // 5 fps, then 1 fps, a 20 s pause (past one cluster's reach), then 10 fps.
      const offsets: number[] = [];
      for (let t = 0; t < 5000; t += 200) offsets.push(t);
      for (let t = 5000; t < 10_000; t += 1000) offsets.push(t);
      for (let t = 30_000; t < 45_000; t += 100) offsets.push(t + 0.4);
      try {
        for (const [index, offset] of offsets.entries()) {
          // Faster than any camera: a frame FFmpeg has no room for yet is dropped, so offer it again.
          while (!writer.write(jpegs[index % jpegs.length]!, startMs + offset)) await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        // A failed test must not leave FFmpeg waiting on its input (and the test file with it).
        if (writer.frames < offsets.length) writer.kill();
      }
      const entry = await writer.close();
      assert.equal(entry?.frames, offsets.length);
      assert.equal(entry?.file, `${Math.round(startMs)}.mp4`);
      const probed = await probe(join(dir, format, 'cam1', '2026-11-26', entry.file));
      assert.equal(probed.codec, format === 'h264' ? 'h264' : 'mjpeg');
      const pts = [...probed.pts].sort((a, b) => a - b);
      assert.equal(pts.length, offsets.length);
      for (const [index, offset] of offsets.entries())
        assert.ok(Math.abs(pts[index]! - Math.round(offset) / 1000) < 0.0015, `frame ${index} at ${offset} ms plays at ${pts[index]} s`);
    });
  }

  it('drops frames beyond about 2 s of them when FFmpeg does not read, and says why it stopped', async () => {
    const stalled = join(dir, 'stalled-ffmpeg');
    writeFileSync(stalled, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(stalled, 0o755);
    const writer = new SegmentWriter({
      recordDir: join(dir, 'stalled'),
      camera: 'cam1',
      format: 'h264',
      startMs: Date.now(),
      video: { width: 320, height: 240 },
      ffmpegPath: stalled,
    });
    const frame = Buffer.concat([jpegs[0]!, Buffer.alloc(50_000)]);
    let written = 0;
    for (let index = 0; index < 600; index++) if (writer.write(frame, Date.now() + index * 33)) written++;
    assert.ok(written < 100, `at most about 60 frames wait for FFmpeg (${written} did)`);
    assert.equal(writer.dropped, 600 - written);
    writer.kill();
    await assert.rejects(writer.close(), /FFmpeg/);
  });
});
