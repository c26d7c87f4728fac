/** OpenCV for the bench (decoding viewers and the encode/decode floors), loaded quietly. */
import '../../services/publisher/src/quiet-opencv-loader.js';
import cv from '@u4/opencv4nodejs';

export { cv };
export type { Mat } from '@u4/opencv4nodejs';
