/**
 * Where every good frame goes once it has passed the JPEG check: the viewer message is built here
 * once per frame, the newest frame of each camera is kept (snapshots, and a first picture for a
 * viewer that just arrived), and both transports get the same bytes.
 */
import { encodeViewerFrame } from '@camqtt/wire';

export interface LatestFrame {
  /** The JPEG exactly as published. */
  jpeg: Buffer;
  /** The binary WebSocket message for it (wire header + JPEG), built once. */
  message: Buffer;
  receivedAt: number;
}

/** Something that sends frames to its viewers: the WebSocket fan-out and the MJPEG streams. */
export interface FrameSink {
  deliverFrame(camera: string, frame: LatestFrame): void;
  forgetCamera(camera: string): void;
}

export class FrameHub {
  private readonly latestFrames = new Map<string, LatestFrame>();
  private readonly sinks: FrameSink[] = [];

  addSink(sink: FrameSink): void {
    this.sinks.push(sink);
  }

  /**
   * A good frame from the broker intake: kept as the camera's newest, and handed to every sink.
   * `receivedAt`: when the relay got it, on the epoch clock (packages/wire/src/epoch-clock.ts).
   */
  deliver(camera: string, jpeg: Buffer, receivedAt: number): void {
    const encoded = encodeViewerFrame(camera, receivedAt, jpeg);
    const message = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    // The JPEG as a view into the message: one copy of the bytes per frame, shared by everyone.
    const frame: LatestFrame = { jpeg: message.subarray(message.length - jpeg.length), message, receivedAt };
    this.latestFrames.set(camera, frame);
    for (const sink of this.sinks) sink.deliverFrame(camera, frame);
  }

  /** Cameras that have sent a frame (an older publisher may send no status). */
  cameras(): IterableIterator<string> {
    return this.latestFrames.keys();
  }

  latest(camera: string): LatestFrame | undefined {
    return this.latestFrames.get(camera);
  }

  /** Frames of `camera` stopped coming on purpose (no viewer watches it here): its last one would only grow old. */
  dropLatest(camera: string): void {
    this.latestFrames.delete(camera);
  }

  /** A camera whose retained status was cleared is gone: its last picture goes with it. */
  forgetCamera(camera: string): void {
    this.latestFrames.delete(camera);
    for (const sink of this.sinks) sink.forgetCamera(camera);
  }
}
