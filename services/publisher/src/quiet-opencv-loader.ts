/**
 * Import before anything that imports @u4/opencv4nodejs. Its loader builds an OpenCVBuilder
 * that prints coloured "Info:" lines about the build configuration to stdout at every start,
 * which would break the one-JSON-object-per-line log. ESM evaluates imports in order, so this
 * module's body runs before the loader does.
 *
 * @u4/opencv-build is @u4/opencv4nodejs's own dependency (same hoisted copy its loader imports).
 */
import { Log } from '@u4/opencv-build';

Log.silence = true;
