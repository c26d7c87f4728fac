/**
 * The emulated V4L2 camera of v4l2-emulator/ (an LD_PRELOAD library), for tests that run the real
 * publisher on "/dev/video0" where there is no camera: builds the library once per source version
 * with the C compiler, writes the MJPG frames it serves (real JPEGs with their frame number drawn
 * in), switches its faults on and off, and reads its event log.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import cv from '@u4/opencv4nodejs';
import { COM, jpegHeaderSegments } from '@camqtt/wire';

const SOURCE_DIR = new URL('./v4l2-emulator/', import.meta.url).pathname;
export const EMULATED_DEVICE = '/dev/video0';

/**
 * Builds the library (into the temp dir, keyed by a hash of its sources, so a rebuild happens only
 * after a change) and returns its path. `CC` picks the compiler (default cc).
 */
export function buildEmulator(outDir = path.join(tmpdir(), 'camqtt-v4l2-emu')): string {
  const sources = readdirSync(SOURCE_DIR)
    .filter((name) => /\.[ch]$/.test(name))
    .sort();
  const hash = createHash('sha256');
  for (const name of sources) hash.update(name).update(readFileSync(path.join(SOURCE_DIR, name)));
  const library = path.join(outDir, `libcamqtt-v4l2-emu-${hash.digest('hex').slice(0, 12)}.so`);
  if (existsSync(library)) return library;
  mkdirSync(outDir, { recursive: true });
  const partial = `${library}.${process.pid}.tmp`;
  const cSources = sources.filter((name) => name.endsWith('.c')).map((name) => path.join(SOURCE_DIR, name));
  execFileSync(
    process.env.CC || 'cc',
    ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', '-o', partial, ...cSources, '-ldl', '-pthread'],
    { stdio: 'pipe' },
  );
  renameSync(partial, library);
  return library;
}

export interface EmulatorEvent {
  pid: number;
  event: string;
  [key: string]: unknown;
}

export interface CameraOptions {
  /** As CAMQTT_V4L2_EMU_FORMATS; default: the library's 720p webcam. */
  formats?: string;
  /** MJPG frame files to write per size, e.g. ['640x480']. */
  jpegSizes?: string[];
  /** How many distinct MJPG frames per size (served round and round). */
  jpegCount?: number;
  delayMs?: number;
}

/** One emulated camera: its own folder with the frames, the fault switches and the event log. */
export class EmulatedCamera {
  readonly dir: string;
  readonly jpegDir: string;
  readonly controlDir: string;
  readonly logPath: string;
  /** The MJPG frames it serves, per size ("640x480"), in serving order. */
  readonly jpegs = new Map<string, Buffer[]>();

  constructor(
    readonly library: string,
    private readonly options: CameraOptions = {},
    parent = tmpdir(),
  ) {
    this.dir = mkdtempSync(path.join(parent, 'camqtt-v4l2-cam-'));
    this.jpegDir = path.join(this.dir, 'jpegs');
    this.controlDir = path.join(this.dir, 'control');
    // In the control folder: the one a container's user may write (test/compose/v4l2-camera.yml).
    this.logPath = path.join(this.controlDir, 'events.log');
    mkdirSync(this.controlDir);
    for (const size of options.jpegSizes ?? []) this.writeJpegs(size, options.jpegCount ?? 30);
  }

  /** The environment that puts this camera under a process (and its children) as EMULATED_DEVICE. */
  env(device = EMULATED_DEVICE): Record<string, string> {
    const env: Record<string, string> = {
      LD_PRELOAD: this.library,
      CAMQTT_V4L2_EMU_DEVICE: device,
      CAMQTT_V4L2_EMU_JPEGS: this.jpegDir,
      CAMQTT_V4L2_EMU_CONTROL: this.controlDir,
      CAMQTT_V4L2_EMU_LOG: this.logPath,
    };
    if (this.options.formats) env.CAMQTT_V4L2_EMU_FORMATS = this.options.formats;
    if (this.options.delayMs) env.CAMQTT_V4L2_EMU_DELAY_MS = String(this.options.delayMs);
    return env;
  }

  /** Unplugged: udev removed the node (ENOENT), or with keepNode it is still there (ENODEV). */
  unplug(keepNode = false): void {
    this.setFault('unplugged', keepNode ? 'keep-node' : '');
  }

  replug(): void {
    this.clearFault('unplugged');
  }

  /** Busy in another program: S_FMT and REQBUFS fail with EBUSY (or open itself, with "open"). */
  setFault(name: 'unplugged' | 'busy' | 'stalled', content = ''): void {
    writeFileSync(path.join(this.controlDir, name), content);
  }

  clearFault(name: 'unplugged' | 'busy' | 'stalled'): void {
    rmSync(path.join(this.controlDir, name), { force: true });
  }

  events(): EmulatorEvent[] {
    if (!existsSync(this.logPath)) return [];
    return readFileSync(this.logPath, 'utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as EmulatorEvent);
  }

  /** Resolves with the first logged event (past or future) that matches; the log is a file, read as it grows. */
  async event(match: (event: EmulatorEvent) => boolean, timeoutMs = 20_000): Promise<EmulatorEvent> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.events().find(match);
      if (found) return found;
      if (performance.now() > deadline)
        throw new Error(`no matching emulator event within ${timeoutMs} ms; last: ${JSON.stringify(this.events().slice(-5))}`);
      await sleep(25);
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Real JPEGs from OpenCV, each with its number drawn large, as <jpegDir>/<W>x<H>/NNN.jpg. */
  private writeJpegs(size: string, count: number): void {
    const [width, height] = size.split('x').map(Number) as [number, number];
    const dir = path.join(this.jpegDir, size);
    mkdirSync(dir, { recursive: true });
    const frames: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const mat = new cv.Mat(height, width, cv.CV_8UC3, [160, 90, 40]);
      mat.putText(
        `frame ${i}`,
        new cv.Point2(width / 10, height / 2),
        cv.FONT_HERSHEY_SIMPLEX,
        height / 160,
        new cv.Vec3(255, 255, 255),
        Math.max(1, Math.round(height / 120)),
      );
      const jpeg = cv.imencode('.jpg', mat, [cv.IMWRITE_JPEG_QUALITY, 80]);
      writeFileSync(path.join(dir, `${String(i).padStart(3, '0')}.jpg`), jpeg);
      frames.push(jpeg);
    }
    this.jpegs.set(size, frames);
  }
}

/** The JPEG without the COM segments the publisher added: what the camera itself sent. */
export function withoutComments(jpeg: Uint8Array): Buffer {
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const segment of jpegHeaderSegments(jpeg)) {
    if (segment.marker !== COM) continue;
    parts.push(jpeg.subarray(from, segment.start));
    from = segment.end;
  }
  parts.push(jpeg.subarray(from));
  return Buffer.concat(parts);
}
