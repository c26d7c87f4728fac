/**
 * The bench's live cameras, which it does not own: each a process of its own (the publisher
 * tests' cameras, packages/test-support), stamping its send time into every frame so a decoding
 * viewer times camera -> decoded picture through the publisher's decode, resize and re-encode.
 * MJPEG over HTTP (OpenCV encodes each frame at quality 80, as a camera does), H.264 over RTSP
 * (GStreamer, x264 zerolatency, a keyframe a second). The file is made once per bench with FFmpeg
 * (H.264, testsrc2); a file has no camera clock, so its latency runs from the publisher's read.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MjpegCamera, RtspCamera } from '@camqtt/test-support';
import { FPS, sourceSize, type BenchCase } from './cases.js';

export interface RealSource {
  /** The publisher's CAMERA_SOURCE and CAPTURE_PASSTHROUGH. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

const FILE_SECONDS = 20;

/** The bench's video file at a size, made with FFmpeg on first use (kept in the temp folder between benches). */
function videoFile(width: number, height: number): string {
  const dir = join(tmpdir(), 'camqtt-bench-files');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `testsrc2-${width}x${height}-${FPS}.mp4`);
  if (!existsSync(path)) {
    const args = [
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${width}x${height}:rate=${FPS}`,
      '-t',
      String(FILE_SECONDS),
    ];
    execFileSync('ffmpeg', [...args, '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', `${path}.part.mp4`]);
    execFileSync('mv', [`${path}.part.mp4`, path]);
  }
  return path;
}

export async function startRealSource(benchCase: BenchCase): Promise<RealSource> {
  const { width, height } = sourceSize(benchCase);
  const passthrough = { CAPTURE_PASSTHROUGH: benchCase.passthrough === false ? 'false' : 'true' };
  switch (benchCase.source) {
    case 'mjpeg-http': {
      const camera = new MjpegCamera(width, height, FPS, true);
      await camera.start(0);
      return { env: { CAMERA_SOURCE: camera.url, ...passthrough }, stop: () => camera.kill() };
    }
    case 'rtsp-h264': {
      const camera = new RtspCamera(width, height, FPS, 'h264', true);
      await camera.start(0);
      return { env: { CAMERA_SOURCE: camera.url, ...passthrough }, stop: () => camera.kill() };
    }
    case 'file':
      return { env: { CAMERA_SOURCE: videoFile(width, height), ...passthrough }, stop: () => Promise.resolve() };
    default:
      throw new Error(`${benchCase.id}: not a real source`);
  }
}
