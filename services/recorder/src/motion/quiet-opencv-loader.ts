/**
 * A copy of the publisher's (a service never imports another), for the motion detector.
 * Import before anything that imports @u4/opencv4nodejs. ESM evaluates a module's imports in
 * order, so this body runs before the addon loads and sets it up for a long-running service:
 *
 * - Its loader builds an OpenCVBuilder that prints coloured "Info:" lines about the build
 *   configuration to stdout at every start, which would break the one-JSON-object-per-line log.
 * - Its custom Mat allocator reports native memory to V8 from whichever thread frees a Mat, and
 *   the *Async calls free Mats on libuv's worker threads. V8's heap is not thread-safe: the bench
 *   process aborted in GC ("Check failed: marking_done_") after a few minutes of async
 *   encode/decode. With the tracking off, no V8 call leaves the main thread.
 *
 * @u4/opencv-build is @u4/opencv4nodejs's own dependency (same hoisted copy its loader imports).
 */
import { Log } from '@u4/opencv-build';

Log.silence = true;
process.env.OPENCV4NODEJS_DISABLE_EXTERNAL_MEM_TRACKING ??= '1';
