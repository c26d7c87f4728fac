/**
 * Plays a camera's recordings from a moment, in place of the live picture.
 *
 * H.264 segments play in a <video> straight from the relay (fragmented MP4, HTTP Range), one
 * segment after the other; the video's own controls seek within a segment, the timeline across
 * segments. Browsers do not play MJPEG inside MP4, so JPEG-format recordings play as the relay's
 * MJPEG playback stream (`play.mjpg?from=`, paced at the recorded speed) in an <img>: no pause or
 * scrubbing there, a new moment is picked on the timeline.
 */
import { recordingDay } from '@camqtt/wire';

export interface PlayableSegment {
  start: number;
  end: number;
  format: 'h264' | 'jpeg';
}

export class RecordingPlayer {
  readonly element: HTMLElement;
  readonly video: HTMLVideoElement;
  private readonly image: HTMLImageElement;
  private camera = '';
  private segments: PlayableSegment[] = [];
  private current: PlayableSegment | undefined;
  /** For MJPEG playback: the moment the stream started from, and when (browser clock). */
  private mjpegFrom: { time: number; at: number } | undefined;
  private positionTimer: number | undefined;

  constructor(
    /** The moment on screen, while playing (undefined: stopped). */
    private readonly onPosition: (time: number | undefined) => void,
    /** Playback ran out of recording. */
    private readonly onEnd: () => void,
  ) {
    this.element = document.createElement('div');
    this.element.className = 'player';
    this.element.hidden = true;
    this.video = document.createElement('video');
    Object.assign(this.video, { controls: true, muted: true, playsInline: true, preload: 'auto' });
    this.video.setAttribute('aria-label', 'Recorded video');
    this.image = document.createElement('img');
    this.image.alt = 'Recorded video (JPEG recording, played as MJPEG)';
    this.image.hidden = true;
    this.element.append(this.video, this.image);
    this.video.addEventListener('timeupdate', () => this.onPosition(this.position));
    this.video.addEventListener('ended', () => this.next());
  }

  get playing(): boolean {
    return this.current !== undefined;
  }

  /** The recorded moment on screen; undefined when stopped. */
  get position(): number | undefined {
    if (!this.current) return undefined;
    if (this.current.format === 'jpeg' && this.mjpegFrom) return this.mjpegFrom.time + (Date.now() - this.mjpegFrom.at);
    return this.current.start + this.video.currentTime * 1000;
  }

  /**
   * Plays `camera` from `time`: in the segment holding it, or from the start of the next one
   * after a gap. False when nothing was recorded at or after it (of `segments`).
   */
  play(camera: string, segments: PlayableSegment[], time: number): boolean {
    const sorted = [...segments].sort((a, b) => a.start - b.start);
    const segment = sorted.find((candidate) => candidate.end >= time);
    if (!segment) return false;
    this.camera = camera;
    this.segments = sorted;
    this.element.hidden = false;
    this.open(segment, Math.max(time, segment.start));
    return true;
  }

  stop(): void {
    this.current = undefined;
    this.mjpegFrom = undefined;
    window.clearInterval(this.positionTimer);
    this.video.pause();
    this.video.removeAttribute('src');
    this.video.load();
    this.image.removeAttribute('src');
    this.element.hidden = true;
    this.onPosition(undefined);
  }

  private open(segment: PlayableSegment, time: number): void {
    const sameVideo = this.current === segment && segment.format === 'h264';
    this.current = segment;
    window.clearInterval(this.positionTimer);
    const offset = (time - segment.start) / 1000;
    if (segment.format === 'jpeg') {
      this.video.pause();
      this.video.hidden = true;
      this.image.hidden = false;
      this.mjpegFrom = { time, at: Date.now() };
      this.image.src = `api/recordings/${encodeURIComponent(this.camera)}/play.mjpg?from=${Math.round(time)}`;
      this.positionTimer = window.setInterval(() => {
        const position = this.position;
        if (position !== undefined && position > segment.end) this.next();
        else this.onPosition(position);
      }, 250);
      return;
    }
    this.mjpegFrom = undefined;
    this.image.removeAttribute('src');
    this.image.hidden = true;
    this.video.hidden = false;
    if (sameVideo) {
      this.video.currentTime = offset;
    } else {
      this.video.src = `api/recordings/${encodeURIComponent(this.camera)}/${recordingDay(segment.start)}/${segment.start}.mp4`;
      this.video.currentTime = offset;
    }
    // Muted video may start without a click, and a click started this anyway.
    void this.video.play().catch(() => {});
    this.onPosition(time);
  }

  /** On to the next segment after the one that ended, or stop at the end of the recording. */
  private next(): void {
    const current = this.current;
    const following = current ? this.segments.find((segment) => segment.start > current.start) : undefined;
    if (!following) {
      this.onEnd();
      return;
    }
    // An MJPEG stream would run on into the next segment too, but across a gap its clock would be off.
    this.open(following, following.start);
  }
}
