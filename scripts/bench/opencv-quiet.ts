/**
 * Import before @u4/opencv4nodejs: its loader prints coloured "Info:" build lines at every start,
 * which would clutter the bench's table. ESM runs this module's body before the loader's.
 */
import { Log } from '@u4/opencv-build';

Log.silence = true;
