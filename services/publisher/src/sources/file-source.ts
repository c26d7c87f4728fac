/**
 * A video file played in real time at its own frame rate, looping at the end. When fewer frames
 * are published than the file has (VIDEO_FPS below the file's fps), the frames in between are
 * read and skipped, so the picture still moves at real speed.
 */
import { existsSync } from 'node:fs';
import cv, { type VideoCapture } from '@u4/opencv4nodejs';
import { redactCredentials } from '@camqtt/wire';
import { EndOfSourceError, type FrameSource, type Grab, type SourceInfo, decodeFourcc, grabTimes, settled } from './frame-source.js';

/** Files claiming a rate outside this range are played at VIDEO_FPS instead. */
const PLAUSIBLE_FPS = { min: 1, max: 240 };

export class FileSource implements FrameSource {
  readonly live = false;
  private capture: VideoCapture | undefined;
  private fileFps = 0;
  /** Monotonic time at which frame 0 of the current pass was (or would have been) shown. */
  private playStart: number | undefined;
  /** Index of the next frame the capture will return. */
  private position = 0;

  /** True while reads return the file's own JPEGs (an MJPG file with passthrough on). */
  private passthroughActive = false;
  private format = 'unknown';

  /** @param passthrough take an MJPG file's JPEGs undecoded (CAPTURE_PASSTHROUGH) */
  constructor(
    private readonly path: string,
    private readonly fallbackFps: () => number,
    private readonly passthrough = false,
    /** VIDEO_LOOP: false ends the source after the last frame. */
    private readonly loopAtEnd = true,
  ) {}

  get description(): string {
    // A path needs none, but a URL OpenCV does not take for a stream (ftp://u:p@...) lands here.
    return redactCredentials(this.path);
  }

  get maxFps(): number | undefined {
    return this.fileFps > 0 ? this.fileFps : undefined;
  }

  open(): Promise<SourceInfo> {
    return settled(() => this.openNow());
  }

  private openNow(): SourceInfo {
    this.close();
    if (!existsSync(this.path)) throw new Error(`video file not found: ${this.path}`);
    const capture = this.openFromStart();
    const claimed = capture.get(cv.CAP_PROP_FPS);
    this.fileFps = claimed >= PLAUSIBLE_FPS.min && claimed <= PLAUSIBLE_FPS.max ? claimed : this.fallbackFps();
    return {
      width: capture.get(cv.CAP_PROP_FRAME_WIDTH),
      height: capture.get(cv.CAP_PROP_FRAME_HEIGHT),
      fps: this.fileFps,
      format: this.format,
    };
  }

  async read(): Promise<Grab> {
    const now = performance.now();
    this.playStart ??= now;
    const frameMs = 1000 / this.fileFps;
    let due = Math.floor((now - this.playStart) / frameMs);
    if (due - this.position > this.fileFps) {
      // More than a second behind (paused, or a slow pipeline): carry on from here instead of
      // decoding a second of frames only to skip them.
      this.playStart = now - this.position * frameMs;
      due = this.position;
    }
    for (;;) {
      let mat = await this.requireCapture().readAsync();
      if (mat.empty) {
        if (!this.loopAtEnd && this.position > 0) throw new EndOfSourceError(`end of video file ${this.path} (VIDEO_LOOP=false)`);
        this.loop();
        due = 0;
        mat = await this.requireCapture().readAsync();
        if (mat.empty) throw new Error(`video file ${this.path} has no readable frames`);
      }
      this.position += 1;
      // The frame just read is shown from (position - 1) * frameMs on; return it once it is due.
      if (this.position > due) {
        const times = grabTimes();
        // A passthrough read is the demuxed packet, one row of bytes: for MJPG a complete JPEG.
        if (!(this.passthroughActive && mat.rows === 1 && mat.type === cv.CV_8UC1)) return { mat, ...times };
        const jpeg = mat.getData();
        mat.release();
        return { jpeg, ...times };
      }
      // Read to catch up, not shown: freed now (see FrameLoop on why Mats are freed at once).
      mat.release();
    }
  }

  close(): void {
    this.capture?.release();
    this.capture = undefined;
  }

  /** Back to frame 0. Reopening is more dependable across containers than seeking. */
  private loop(): void {
    this.close();
    this.openFromStart();
    this.playStart = performance.now();
  }

  private openFromStart(): VideoCapture {
    // FFmpeg explicitly: with CAP_ANY a missing or odd file is also tried by GStreamer, which
    // prints warnings to stderr.
    const capture = openCapture(this.path, cv.CAP_FFMPEG, `video file ${this.path}`);
    this.capture = capture;
    this.format = decodeFourcc(capture.get(cv.CAP_PROP_FOURCC));
    // Must be set before the first read; FFmpeg then hands over packets instead of pixels.
    this.passthroughActive = this.passthrough && /^mjp/i.test(this.format) && capture.set(cv.CAP_PROP_FORMAT, -1);
    this.position = 0;
    this.playStart = undefined;
    return this.capture;
  }

  private requireCapture(): VideoCapture {
    if (!this.capture) throw new Error(`video file ${this.path} is not open`);
    return this.capture;
  }
}

function openCapture(target: string, apiPreference: number, what: string): VideoCapture {
  try {
    return new cv.VideoCapture(target, apiPreference);
  } catch (error) {
    throw new Error(`cannot open ${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
