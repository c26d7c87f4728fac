/**
 * Live cameras the tests and the bench do not own, each a process of its own that a test can kill
 * (a camera losing power) and start again on the same port: MJPEG over HTTP
 * (fixtures/mjpeg-server.mjs, OpenCV) and RTSP (fixtures/rtsp-server.py, GStreamer's RTSP server).
 * With `stamp`, each frame carries its send time in pixels (frame-stamp.ts), so a viewer can time
 * camera -> decoded picture even through a decode, resize and re-encode.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceProcess } from './service-process.js';

const MJPEG_SERVER = new URL('../fixtures/mjpeg-server.mjs', import.meta.url).pathname;

/** The MJPEG-over-HTTP camera of fixtures/mjpeg-server.mjs. */
export class MjpegCamera {
  private server: ServiceProcess | undefined;
  port = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly fps: number,
    /** A scene encoded live with its send time in each frame (the bench's camera). */
    readonly stamp = false,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** Starts serving on `port` (0: a free one, remembered for a restart). */
  async start(port = this.port): Promise<void> {
    this.server = ServiceProcess.start(MJPEG_SERVER, {}, [
      String(port),
      String(this.width),
      String(this.height),
      String(this.fps),
      this.stamp ? 'stamp' : 'plain',
    ]);
    this.port = await this.server.port('http');
  }

  /** kill -9: the stream ends mid-frame, as when a camera loses power. */
  async kill(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
    const exited = once(server.child, 'exit');
    server.child.kill('SIGKILL');
    await exited;
  }
}

const RTSP_SERVER = new URL('../fixtures/rtsp-server.py', import.meta.url).pathname;
/**
 * Debian's interpreter, not the first python3 on PATH: GStreamer's Python bindings (python3-gi)
 * are installed for it only, and a developer's pyenv or venv python3 would not find them.
 */
const DEBIAN_PYTHON = '/usr/bin/python3';
const RTSP_PACKAGES = 'python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly';

/**
 * The RTSP camera of fixtures/rtsp-server.py (GStreamer's RTSP server), as a process a test can
 * kill and restart on the same port. `codec`: jpeg (RTP/JPEG, an MJPEG camera) or h264.
 */
export class RtspCamera {
  private server: ServiceProcess | undefined;
  port = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly fps: number,
    readonly codec: 'jpeg' | 'h264',
    /** A scene with its send time in each frame (the bench's camera) instead of GStreamer's test pattern. */
    readonly stamp = false,
  ) {}

  get url(): string {
    return `rtsp://127.0.0.1:${this.port}/cam`;
  }

  /** The Transport header of every SETUP the running server received (the transport asked for). */
  get setupTransports(): string[] {
    return (this.server?.lines ?? []).filter((line) => line.msg === 'setup').map((line) => String(line.transport));
  }

  /** Starts serving on `port` (0: a free one, remembered for a restart); fails loudly if GStreamer is missing. */
  async start(port = this.port): Promise<void> {
    if (!existsSync(DEBIAN_PYTHON)) throw new Error(`RTSP tests need ${DEBIAN_PYTHON} with GStreamer: apt-get install ${RTSP_PACKAGES}`);
    const server = ServiceProcess.command(`rtsp-server ${this.codec}`, DEBIAN_PYTHON, [
      RTSP_SERVER,
      String(port),
      String(this.width),
      String(this.height),
      String(this.fps),
      this.codec,
      this.stamp ? 'stamp' : 'plain',
    ]);
    this.server = server;
    try {
      this.port = await server.port('rtsp');
    } catch (error) {
      // The fixture's stderr (a missing package, a busy port) says why; 'close' comes once all of
      // it was read (it may have come already: then the wait is bounded).
      if (!server.exited) server.child.kill('SIGKILL');
      await Promise.race([once(server.child, 'close'), sleep(1000)]);
      throw new Error(`RTSP camera did not start: ${server.rawOutput.slice(-3).join(' | ') || (error as Error).message}`);
    }
  }

  /**
   * kill -9: the kernel closes the RTSP connection mid-stream, as when a camera reboots. (One that
   * loses power sends nothing: the publisher's 5 s socket timeout notices that.)
   */
  async kill(): Promise<void> {
    const server = this.server;
    if (!server || server.exited) return;
    const exited = once(server.child, 'exit');
    server.child.kill('SIGKILL');
    await exited;
  }
}
