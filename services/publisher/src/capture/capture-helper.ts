/**
 * Child process that owns the publisher's VideoCapture for a camera or a network stream. The
 * publisher forks it and asks for one frame at a time over IPC.
 *
 * Why a process and not a worker thread: opening a URL (up to the 5 s socket timeout) and reading
 * a stalled camera are blocking native calls. On the main thread they froze the event loop, and
 * MQTT keepalive and status with it; in a worker or the libuv thread pool they would hold up
 * process.exit (Node joins those threads at exit), so SIGTERM could not end the publisher within
 * 2 s. A process can simply be killed, and the kernel releases the camera.
 */
import '../quiet-opencv-loader.js';
import cv, { type VideoCapture } from '@u4/opencv4nodejs';
import { epochNowMs } from '@camqtt/wire';
import { decodeFourcc, type SourceInfo } from '../sources/frame-source.js';
import type { HelperReply, HelperRequest, OpenSpec } from './capture-messages.js';

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

class CaptureHelper {
  private capture: VideoCapture | undefined;
  private spec: OpenSpec | undefined;
  /** True while reads return the source's own JPEGs (MJPEG with passthrough on). */
  private passthroughActive = false;
  /** The first live frame, read while draining FFmpeg's buffer at open: the next read's answer. */
  private firstLive: HelperReply | undefined;

  handle(request: HelperRequest): HelperReply {
    try {
      switch (request.type) {
        case 'open':
          return this.open(request.spec);
        case 'read':
          return this.read();
        case 'close':
          this.close();
          return { type: 'closed' };
      }
    } catch (error) {
      return { type: 'failed', message: error instanceof Error ? error.message : String(error) };
    }
  }

  close(): void {
    this.capture?.release();
    this.capture = undefined;
    this.firstLive = undefined;
  }

  private open(spec: OpenSpec): HelperReply {
    this.close();
    this.spec = spec;
    const capture = spec.kind === 'device' ? this.openDevice(spec) : this.openStream(spec);
    this.capture = capture;
    const format = decodeFourcc(capture.get(cv.CAP_PROP_FOURCC));
    this.passthroughActive = false;
    if (spec.passthrough && /^mjp/i.test(format)) {
      // V4L2 hands over the camera's MJPG buffer as one row of bytes with CONVERT_RGB off; FFmpeg
      // hands over the demuxed packet (a complete JPEG for MJPEG) with FORMAT -1. Both must be
      // set before the first read.
      this.passthroughActive = spec.kind === 'device' ? capture.set(cv.CAP_PROP_CONVERT_RGB, 0) : capture.set(cv.CAP_PROP_FORMAT, -1);
    }
    const info: SourceInfo = {
      width: capture.get(cv.CAP_PROP_FRAME_WIDTH),
      height: capture.get(cv.CAP_PROP_FRAME_HEIGHT),
      fps: capture.get(cv.CAP_PROP_FPS),
      format,
    };
    if (spec.kind !== 'device') info.bufferedFramesSkipped = this.skipBufferedFrames(info.fps);
    return { type: 'opened', info, passthrough: this.passthroughActive };
  }

  /** Reads until a frame comes off the network, keeps that one for the next read; returns how many were dropped. */
  private skipBufferedFrames(fps: number): number {
    const intervalMs = 1000 / (fps > 0 && fps <= 240 ? fps : 25);
    const started = performance.now();
    let skipped = 0;
    for (;;) {
      const before = performance.now();
      const frame = this.read();
      const took = performance.now() - before;
      if (frame.type !== 'frame' || took >= BUFFERED_READ_SHARE * intervalMs || before - started > BUFFER_DRAIN_MAX_MS) {
        this.firstLive = frame;
        return skipped;
      }
      skipped += 1;
    }
  }

  private read(): HelperReply {
    const firstLive = this.firstLive;
    if (firstLive) {
      this.firstLive = undefined;
      return firstLive;
    }
    const capture = this.capture;
    if (!capture) return { type: 'failed', message: 'not open' };
    const mat = capture.read();
    const captureTime = this.grabTime(capture);
    if (mat.empty) return { type: 'failed', message: 'stopped delivering frames' };
    // A passthrough read is one row of bytes; anything else is decoded pixels (the backend may
    // ignore the request). getData copies the pixels out, so the Mats are freed at once (see
    // FrameLoop on why).
    if (this.passthroughActive && mat.rows === 1 && mat.type === cv.CV_8UC1) {
      const jpeg = mat.getData();
      mat.release();
      return { type: 'frame', captureTime, jpeg };
    }
    const bgr = mat.channels === 3 ? mat : mat.cvtColor(mat.channels === 4 ? cv.COLOR_BGRA2BGR : cv.COLOR_GRAY2BGR);
    const frame = { rows: bgr.rows, cols: bgr.cols, data: bgr.getData() };
    bgr.release();
    mat.release();
    return { type: 'frame', captureTime, bgr: frame };
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

const helper = new CaptureHelper();
process.on('message', (request: HelperRequest) => {
  const reply = helper.handle(request);
  // The publisher may have gone while we were busy: 'disconnect' then ends this process.
  if (process.connected) process.send?.(reply, undefined, {}, () => undefined);
});
// The publisher went away (even by kill -9): release the camera and go too.
process.on('disconnect', () => {
  helper.close();
  process.exit(0);
});
