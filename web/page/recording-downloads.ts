/**
 * The recordings panel's downloads: a snapshot of the moment shown (playing, else the timeline's
 * cursor) and a clip between two times the viewer may edit; both are links to the relay's
 * /api/recordings endpoints, so the browser downloads them itself.
 */
import { downloadLink, element, labelled, timeInput } from './dom.js';
import { formatClock, fromLocalInput, toLocalInput } from './time-format.js';

const DEFAULT_CLIP_MS = 30_000;
const MAX_CLIP_MS = 60 * 60_000;

export class RecordingDownloads {
  readonly snapshot: HTMLAnchorElement;
  /** The clip's from / to fields and its link. */
  readonly clipGroup: HTMLElement;
  private readonly clipFrom: HTMLInputElement;
  private readonly clipTo: HTMLInputElement;
  private readonly clip: HTMLAnchorElement;
  private camera: string | undefined;
  /** Once the viewer typed clip times, the moment shown no longer moves them. */
  private clipEdited = false;

  constructor() {
    this.snapshot = downloadLink('snapshot-at', 'Snapshot');
    this.clipFrom = timeInput('clip-from');
    this.clipTo = timeInput('clip-to');
    for (const input of [this.clipFrom, this.clipTo])
      input.addEventListener('input', () => {
        this.clipEdited = true;
        this.updateClip();
      });
    this.clip = downloadLink('clip', 'Download clip');
    this.clipGroup = element('span', 'rec-clip');
    this.clipGroup.append(labelled('Clip from', this.clipFrom), labelled('to', this.clipTo), this.clip);
  }

  /** Another camera: its clip times follow the moment shown again. */
  setCamera(camera: string | undefined): void {
    this.camera = camera;
    this.clipEdited = false;
  }

  /** The moment shown (ms since the epoch): the snapshot's, and the clip's start unless edited. */
  showMoment(at: number): void {
    const camera = this.camera;
    if (!camera) return;
    this.snapshot.href = `api/recordings/${encodeURIComponent(camera)}/snapshot.jpg?at=${at}`;
    this.snapshot.download = `${camera}-${new Date(at).toISOString().replace(/[:.]/g, '-')}.jpg`;
    this.snapshot.textContent = `Snapshot at ${formatClock(at)}`;
    if (!this.clipEdited) {
      this.clipFrom.value = toLocalInput(at);
      this.clipTo.value = toLocalInput(at + DEFAULT_CLIP_MS);
    }
    this.updateClip();
  }

  private updateClip(): void {
    const camera = this.camera;
    const from = fromLocalInput(this.clipFrom.value);
    const to = fromLocalInput(this.clipTo.value);
    const problem =
      !camera || Number.isNaN(from) || Number.isNaN(to)
        ? 'set both times'
        : to <= from
          ? '"to" must be after "from"'
          : to - from > MAX_CLIP_MS
            ? 'at most 60 minutes'
            : '';
    this.clip.title = problem || `an MP4 of ${Math.round((to - from) / 1000)} s, as recorded (starts at the keyframe before)`;
    this.clip.setAttribute('aria-disabled', String(problem !== ''));
    if (problem || !camera) this.clip.removeAttribute('href');
    else this.clip.href = `api/recordings/${encodeURIComponent(camera)}/clip.mp4?from=${from}&to=${to}`;
  }
}
