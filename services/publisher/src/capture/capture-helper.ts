/**
 * Child process that owns the publisher's VideoCapture for a camera or a network stream. The
 * publisher forks it and asks for one frame at a time over IPC; the helper keeps the frame and,
 * when the publisher wants it sent, encodes it here (FrameEncoder: passthrough, or resize +
 * overlay + JPEG) and hands over only the payload. Raw pixels never cross the pipe: a 720p BGR
 * frame is 2.7 MB (83 MB/s at 30 fps), its JPEG ~100 kB. Meanwhile the next read already runs.
 *
 * Why a process and not a worker thread: opening a URL (up to the 5 s socket timeout) and reading
 * a stalled camera are blocking native calls. On the main thread they froze the event loop, and
 * MQTT keepalive and status with it; in a worker or the libuv thread pool they would hold up
 * process.exit (Node joins those threads at exit), so SIGTERM could not end the publisher within
 * 2 s. A process can simply be killed, and the kernel releases the camera.
 */
import '../quiet-opencv-loader.js';
import cv, { type Mat, type VideoCapture } from '@u4/opencv4nodejs';
import { epochNowMs, readJpegInfo } from '@camqtt/wire';
import { FrameEncoder } from '../frame-encoder.js';
import { decodeFourcc, type Grab, type SourceInfo } from '../sources/frame-source.js';
import { ReadAhead } from './read-ahead.js';
import type { EncodeJob, HelperReply, HelperRequest, OpenSpec } from './capture-messages.js';

/**
 * FFmpeg options for streams, unless the operator set OPENCV_FFMPEG_CAPTURE_OPTIONS:
 * - timeout (socket timeout, µs): an unreachable host fails after 5 s instead of OpenCV's 30 s.
 * - rtsp_transport tcp: RTP interleaved in the RTSP connection. OpenCV asks for it only while the
 *   variable is unset, so the timeout alone would drop RTSP to FFmpeg's default, UDP, to client
 *   ports it binds on all interfaces. Behind NAT or a firewall those packets never arrive and no
 *   frame comes until FFmpeg gives up on UDP at the timeout and sets up again over TCP, at every
 *   reconnect. (Other demuxers ignore the option.)
 */
const STREAM_CAPTURE_OPTIONS = 'rtsp_transport;tcp|timeout;5000000';
/** A V4L2 buffer timestamp older than this is not trusted (a driver with another clock). */
const MAX_DRIVER_TIMESTAMP_AGE_MS = 1000;
/**
 * Opening a stream, FFmpeg probes it for a second or two and keeps the frames that arrive
 * meanwhile; read at once, they would go out stamped "now" though seconds old. After an open,
 * frames are read and dropped while each comes faster than this share of the frame interval (out
 * of the buffer, not off the network), for at most BUFFER_DRAIN_MAX_MS.
 */
const BUFFERED_READ_SHARE = 0.25;
const BUFFER_DRAIN_MAX_MS = 3000;

/** A frame read and held here until it is encoded or the next one is read. */
interface HeldFrame {
  captureTime: number;
  /** Decoded BGR pixels, or the source's own JPEG (passthrough reads). */
  mat?: Mat;
  jpeg?: Uint8Array;
  width: number;
  height: number;
}

type ReadOutcome = { frame: HeldFrame } | { failed: string };

class CaptureHelper {
  private capture: VideoCapture | undefined;
  private spec: OpenSpec | undefined;
  /**
   * True while reads return the source's own JPEGs undecoded (MJPEG with passthrough on). Not
   * otherwise: FFmpeg's MJPEG decoder (with its conversion to BGR) took a third of the CPU of
   * OpenCV's imdecode for the same 720p frames here (1.9 against 6.1 ms).
   */
  private jpegReads = false;
  /** The next frame's read runs while the last one is encoded (read-ahead.ts). */
  private readonly reads = new ReadAhead<ReadOutcome>(
    () => this.readNext(),
    (outcome) => 'frame' in outcome,
    (outcome) => release(outcome),
    () => this.intervalMs,
  );
  private intervalMs = 1000 / 25;
  /** The last frame read: what an 'encode' encodes. */
  private held: HeldFrame | undefined;
  private encoder: FrameEncoder | undefined;

  async handle(request: HelperRequest): Promise<HelperReply> {
    try {
      switch (request.type) {
        case 'open':
          return this.open(request.spec);
        case 'read':
          return await this.read();
        case 'encode':
          return await this.encode(request.job);
        case 'close':
          this.close();
          return { type: 'closed' };
      }
    } catch (error) {
      return { type: 'failed', message: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Whether a read is running on the thread pool (which a plain exit would wait for). */
  get reading(): boolean {
    return this.reads.reading;
  }

  close(): void {
    this.dropHeld();
    const capture = this.capture;
    this.capture = undefined;
    const inFlight = this.reads.abandon();
    // A read on the thread pool still uses the capture: release it once that read is done.
    if (inFlight) void inFlight.then((outcome) => release(outcome, capture));
    else capture?.release();
  }

  private open(spec: OpenSpec): HelperReply {
    this.close();
    this.spec = spec;
    const capture = spec.kind === 'device' ? this.openDevice(spec) : this.openStream(spec);
    this.capture = capture;
    const format = decodeFourcc(capture.get(cv.CAP_PROP_FOURCC));
    this.jpegReads = false;
    if (spec.passthrough && /^mjp/i.test(format)) {
      // V4L2 hands over the camera's MJPG buffer as one row of bytes with CONVERT_RGB off; FFmpeg
      // hands over the demuxed packet (a complete JPEG for MJPEG) with FORMAT -1. Both must be
      // set before the first read.
      this.jpegReads = spec.kind === 'device' ? capture.set(cv.CAP_PROP_CONVERT_RGB, 0) : capture.set(cv.CAP_PROP_FORMAT, -1);
    }
    const info: SourceInfo = {
      width: capture.get(cv.CAP_PROP_FRAME_WIDTH),
      height: capture.get(cv.CAP_PROP_FRAME_HEIGHT),
      fps: capture.get(cv.CAP_PROP_FPS),
      format,
    };
    if (spec.kind !== 'device') info.bufferedFramesSkipped = this.skipBufferedFrames(capture, info.fps);
    this.intervalMs = 1000 / (info.fps > 0 && info.fps <= 240 ? info.fps : 25);
    return { type: 'opened', info };
  }

  /** Reads until a frame comes off the network, keeps that one for the next read; returns how many were dropped. */
  private skipBufferedFrames(capture: VideoCapture, fps: number): number {
    const intervalMs = 1000 / (fps > 0 && fps <= 240 ? fps : 25);
    const started = performance.now();
    let skipped = 0;
    for (;;) {
      const before = performance.now();
      // Synchronous: the helper does nothing else while it opens.
      const outcome = this.take(capture, capture.read());
      const took = performance.now() - before;
      if (!('frame' in outcome) || took >= BUFFERED_READ_SHARE * intervalMs || before - started > BUFFER_DRAIN_MAX_MS) {
        this.reads.preload(outcome);
        return skipped;
      }
      release(outcome);
      skipped += 1;
    }
  }

  private async read(): Promise<HelperReply> {
    this.dropHeld();
    const outcome = await this.reads.take();
    if ('failed' in outcome) return { type: 'failed', message: outcome.failed };
    this.held = outcome.frame;
    const { captureTime, width, height } = outcome.frame;
    return { type: 'frame', captureTime, width, height };
  }

  private async readNext(): Promise<ReadOutcome> {
    const capture = this.capture;
    if (!capture) return { failed: 'not open' };
    try {
      return this.take(capture, await capture.readAsync());
    } catch (error) {
      return { failed: error instanceof Error ? error.message : String(error) };
    }
  }

  /** A read's Mat as a held frame: the source's JPEG bytes, or BGR pixels. */
  private take(capture: VideoCapture, mat: Mat): ReadOutcome {
    const captureTime = this.grabTime(capture);
    if (mat.empty) return { failed: 'stopped delivering frames' };
    // A JPEG read is one row of bytes; anything else is decoded pixels (the backend may
    // ignore the request). The bytes are copied out so the Mat is freed at once (see FrameLoop).
    if (this.jpegReads && mat.rows === 1 && mat.type === cv.CV_8UC1) {
      const jpeg = mat.getData();
      mat.release();
      const size = readJpegInfo(jpeg);
      return { frame: { captureTime, jpeg, width: size?.width ?? 0, height: size?.height ?? 0 } };
    }
    if (mat.channels === 3) return { frame: { captureTime, mat, width: mat.cols, height: mat.rows } };
    const bgr = mat.cvtColor(mat.channels === 4 ? cv.COLOR_BGRA2BGR : cv.COLOR_GRAY2BGR);
    mat.release();
    return { frame: { captureTime, mat: bgr, width: bgr.cols, height: bgr.rows } };
  }

  private async encode(job: EncodeJob): Promise<HelperReply> {
    const held = this.held;
    if (!held) return { type: 'failed', message: 'no frame to encode' };
    this.held = undefined;
    if (this.encoder?.maxPayloadBytes !== job.maxPayloadBytes) this.encoder = new FrameEncoder(job.maxPayloadBytes);
    const encoder = this.encoder;
    if (job.resetEncoder) encoder.reset();
    const grab: Grab = {
      captureTime: held.captureTime,
      grabbedAt: performance.now(),
      ...(held.mat ? { mat: held.mat } : { jpeg: held.jpeg! }),
    };
    try {
      const encoded =
        job.snapshotQuality === undefined
          ? await encoder.encode(grab, job.options, job.meta)
          : await encoder.encodeSnapshot(grab, job.options, job.snapshotQuality, job.meta);
      return { type: 'encoded', payload: encoded?.payload, quality: encoded?.quality, state: encoder.state };
    } finally {
      held.mat?.release();
    }
  }

  private dropHeld(): void {
    this.held?.mat?.release();
    this.held = undefined;
  }

  /**
   * When the frame was grabbed, ms since the epoch. A V4L2 camera stamps each buffer when the
   * driver filled it (CLOCK_MONOTONIC, which process.hrtime also reads); otherwise the moment the
   * read returned, which for a live source is as soon as the frame was complete.
   */
  private grabTime(capture: VideoCapture): number {
    const now = epochNowMs();
    if (this.spec?.kind !== 'device') return now;
    const stampMs = capture.get(cv.CAP_PROP_POS_MSEC);
    const age = Number(process.hrtime.bigint()) / 1e6 - stampMs;
    return stampMs > 0 && age >= 0 && age < MAX_DRIVER_TIMESTAMP_AGE_MS ? now - age : now;
  }

  private openDevice(spec: OpenSpec): VideoCapture {
    const capture = openCapture(spec.target, cv.CAP_V4L2);
    // MJPG first: most USB cameras reach their full frame rate at larger sizes only in MJPG.
    capture.set(cv.CAP_PROP_FOURCC, cv.VideoWriter.fourcc('MJPG'));
    capture.set(cv.CAP_PROP_FRAME_WIDTH, spec.width);
    capture.set(cv.CAP_PROP_FRAME_HEIGHT, spec.height);
    capture.set(cv.CAP_PROP_FPS, spec.fps);
    return capture;
  }

  private openStream(spec: OpenSpec): VideoCapture {
    // Read by OpenCV at every open; setting process.env sets the real environment.
    process.env.OPENCV_FFMPEG_CAPTURE_OPTIONS ||= STREAM_CAPTURE_OPTIONS;
    return openCapture(spec.target, cv.CAP_FFMPEG);
  }
}

/** The caller adds which source could not be opened; the binding's message says why. */
function openCapture(target: string | number, api: number): VideoCapture {
  return new cv.VideoCapture(target, api);
}

/** Frees a read's frame that nobody will encode, and the capture it came from once that read is over. */
function release(outcome: ReadOutcome, capture?: VideoCapture): void {
  if ('frame' in outcome) outcome.frame.mat?.release();
  capture?.release();
}

const helper = new CaptureHelper();
// One request at a time (the publisher waits for each reply), answered in order.
let answering = Promise.resolve();
process.on('message', (request: HelperRequest) => {
  answering = answering.then(async () => {
    const reply = await helper.handle(request);
    // The publisher may have gone while we were busy: 'disconnect' then ends this process.
    if (process.connected) process.send?.(reply, undefined, {}, () => undefined);
  });
});
// The publisher went away (even by kill -9): release the camera and go too. A read still on the
// thread pool would hold up a plain exit (Node joins those threads), and may be stuck in the
// driver: then the kernel releases the camera.
process.on('disconnect', () => {
  const reading = helper.reading;
  helper.close();
  if (reading) process.kill(process.pid, 'SIGKILL');
  else process.exit(0);
});
