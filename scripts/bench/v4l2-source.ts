/**
 * The bench's V4L2 camera: the tests' emulated camera (services/publisher/test/v4l2-emulator/, an
 * LD_PRELOAD library) at /dev/video0, offering MJPG at the case's size and the bench's fps, whose
 * JPEGs the publisher passes through. Its buffers carry the driver's CLOCK_MONOTONIC timestamps,
 * so the case's latency runs from the device buffer's timestamp to the viewer.
 */
import { EMULATED_DEVICE, EmulatedCamera, buildEmulator } from '../../services/publisher/test/v4l2-camera.js';
import { FPS, type BenchCase } from './cases.js';

export interface V4l2Source {
  /** The publisher's CAMERA_SOURCE and the emulator's settings. */
  env: Record<string, string>;
  remove(): void;
}

export function startV4l2Source(benchCase: BenchCase): V4l2Source {
  const size = `${benchCase.width}x${benchCase.height}`;
  const camera = new EmulatedCamera(buildEmulator(), { formats: `MJPG ${size}@${FPS}`, jpegSizes: [size] });
  return { env: { CAMERA_SOURCE: EMULATED_DEVICE, ...camera.env() }, remove: () => camera.remove() };
}
