/**
 * CAMERA_SOURCE=testsrc: a moving test pattern drawn in-process, so the whole chain can run
 * without a camera. Colour bars and a grey ramp are drawn once per size; each frame copies them
 * and draws only a moving block, a large clock (the capture time, to read latency off a screen
 * against a real clock) and the frame counter.
 */
import cv, { type Mat } from '@u4/opencv4nodejs';
import { type FrameSource, type Grab, type SourceInfo, grabTimes, settled } from './frame-source.js';

export interface FrameSize {
  width: number;
  height: number;
}

/** Colour bars, BGR, at 75 % like the broadcast pattern. */
const BARS: ReadonlyArray<[number, number, number]> = [
  [191, 191, 191],
  [0, 191, 191],
  [191, 191, 0],
  [0, 191, 0],
  [191, 0, 191],
  [0, 0, 191],
  [191, 0, 0],
];
const CLOCK_SAMPLE = '00:00:00.000';
/** The moving block crosses the frame in this many ms, so motion shows dropped frames. */
const SWEEP_MS = 4000;

interface Layout {
  size: FrameSize;
  background: Mat;
  scale: number;
  clockOrigin: InstanceType<typeof cv.Point2>;
  clockFontScale: number;
  clockThickness: number;
  counterOrigin: InstanceType<typeof cv.Point2>;
  sweepTop: number;
  sweepBottom: number;
  blockWidth: number;
}

export class TestPatternSource implements FrameSource {
  readonly live = false;
  readonly maxFps = undefined;
  readonly description = 'testsrc';
  private layout: Layout | undefined;
  private frameCount = 0;
  private readonly white = new cv.Vec3(255, 255, 255);
  private readonly black = new cv.Vec3(0, 0, 0);
  private readonly yellow = new cv.Vec3(0, 255, 255);

  /**
   * @param size the size frames should have; read per frame so a control message changing the
   *   size re-draws the pattern at the new size instead of scaling it every frame.
   */
  constructor(
    private readonly size: () => FrameSize,
    private readonly fps: () => number,
    private readonly label: string,
    /** TESTSRC_LARGE_CLOCK: the clock spans the frame, to read off a screen by eye or a phone photo. */
    private readonly largeClock = false,
  ) {}

  open(): Promise<SourceInfo> {
    return settled(() => {
      const layout = this.currentLayout();
      return { width: layout.size.width, height: layout.size.height, fps: this.fps() };
    });
  }

  read(): Promise<Grab> {
    return settled(() => this.draw());
  }

  private draw(): Grab {
    const layout = this.currentLayout();
    const clock = grabTimes().captureTime;
    const mat = layout.background.copy();
    const { width } = layout.size;

    const travel = width - layout.blockWidth;
    const x = Math.round(((clock % SWEEP_MS) / SWEEP_MS) * travel);
    mat.drawRectangle(new cv.Point2(x, layout.sweepTop), new cv.Point2(x + layout.blockWidth, layout.sweepBottom), this.white, cv.FILLED);
    mat.drawRectangle(
      new cv.Point2(x, layout.sweepTop),
      new cv.Point2(x + layout.blockWidth, layout.sweepBottom),
      this.black,
      Math.max(1, Math.round(2 * layout.scale)),
    );

    mat.putText(
      formatClock(clock),
      layout.clockOrigin,
      cv.FONT_HERSHEY_SIMPLEX,
      layout.clockFontScale,
      this.white,
      layout.clockThickness,
      cv.LINE_AA,
    );
    mat.putText(
      `#${this.frameCount}`,
      layout.counterOrigin,
      cv.FONT_HERSHEY_SIMPLEX,
      0.8 * layout.scale,
      this.yellow,
      Math.max(1, Math.round(2 * layout.scale)),
      cv.LINE_AA,
    );
    this.frameCount += 1;
    // The frame exists once drawn, as a camera's once read out: that is its grab time (the clock
    // drawn in it is a fraction of a ms earlier).
    return { mat, ...grabTimes() };
  }

  close(): void {
    this.layout?.background.release();
    this.layout = undefined;
  }

  private currentLayout(): Layout {
    const size = this.size();
    if (!this.layout || this.layout.size.width !== size.width || this.layout.size.height !== size.height) {
      this.layout?.background.release();
      this.layout = this.drawBackground({ ...size });
    }
    return this.layout;
  }

  private drawBackground(size: FrameSize): Layout {
    const { width, height } = size;
    const scale = Math.min(width / 640, height / 480);
    const background = new cv.Mat(height, width, cv.CV_8UC3, [0, 0, 0]);

    const barsBottom = Math.round(height * 0.62);
    BARS.forEach(([b, g, r], i) => {
      const left = Math.round((i * width) / BARS.length);
      const right = Math.round(((i + 1) * width) / BARS.length) - 1;
      background.drawRectangle(new cv.Point2(left, 0), new cv.Point2(right, barsBottom), new cv.Vec3(b, g, r), cv.FILLED);
    });
    // Grey ramp under the bars: shows banding from a low JPEG quality at a glance.
    const rampTop = barsBottom + 1;
    for (let x = 0; x < width; x++) {
      const v = Math.round((x / Math.max(1, width - 1)) * 255);
      background.drawLine(new cv.Point2(x, rampTop), new cv.Point2(x, height - 1), new cv.Vec3(v, v, v));
    }

    // A dark band across the bars for the clock, so it stays legible on every colour.
    let clockFontScale = 1.5 * scale;
    if (this.largeClock) {
      // Scale the font so the widest clock fills 94 % of the width; stroke width grows with it.
      const unit = cv.getTextSize(CLOCK_SAMPLE, cv.FONT_HERSHEY_SIMPLEX, 1, 2).size.width;
      clockFontScale = (0.94 * width) / unit;
    }
    const clockThickness = Math.max(1, Math.round((this.largeClock ? 1.6 : 2) * clockFontScale));
    const clockText = cv.getTextSize(CLOCK_SAMPLE, cv.FONT_HERSHEY_SIMPLEX, clockFontScale, clockThickness);
    const bandHeight = Math.round(clockText.size.height * (this.largeClock ? 1.6 : 2.2));
    const bandTop = Math.max(0, Math.round((this.largeClock ? height : barsBottom) / 2 - bandHeight / 2));
    background.drawRectangle(new cv.Point2(0, bandTop), new cv.Point2(width - 1, bandTop + bandHeight), this.black, cv.FILLED);
    const clockOrigin = new cv.Point2(
      Math.max(0, Math.round((width - clockText.size.width) / 2)),
      Math.round(bandTop + bandHeight / 2 + clockText.size.height / 2),
    );

    const labelScale = 0.6 * scale;
    const labelThickness = Math.max(1, Math.round(scale * 1.5));
    background.drawRectangle(new cv.Point2(0, 0), new cv.Point2(width - 1, Math.round(34 * scale)), this.black, cv.FILLED);
    background.putText(
      `camqtt ${this.label}  ${width}x${height}`,
      new cv.Point2(Math.round(8 * scale), Math.round(24 * scale)),
      cv.FONT_HERSHEY_SIMPLEX,
      labelScale,
      this.white,
      labelThickness,
      cv.LINE_AA,
    );

    const rampHeight = height - rampTop;
    return {
      size,
      background,
      scale,
      clockOrigin,
      clockFontScale,
      clockThickness,
      counterOrigin: new cv.Point2(Math.round(8 * scale), bandTop + bandHeight + Math.round(30 * scale)),
      sweepTop: rampTop + Math.round(rampHeight * 0.2),
      sweepBottom: height - 1 - Math.round(rampHeight * 0.2),
      blockWidth: Math.max(8, Math.round(width / 12)),
    };
  }
}

function formatClock(epochMs: number): string {
  const t = new Date(epochMs);
  const pad = (n: number, digits = 2): string => String(n).padStart(digits, '0');
  return `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${pad(t.getMilliseconds(), 3)}`;
}
