/**
 * The single view's recordings: the recorder's state for the camera, a day picker, the day's
 * timeline (recorded spans, motion events), the motion events as a list, and playback in place of
 * the live picture with "Back to live", a snapshot at the moment shown or picked, and a clip
 * download between two times. Everything comes from /api/recordings (recording-routes.ts on the
 * relay); the days are UTC days, as the recorder files them, and times show in local time.
 */
import type { MotionEvent, RecordingStatus } from '@camqtt/wire';
import { RecordingPlayer, type PlayableSegment } from './recording-player.js';
import { DAY_MS, RecordingTimeline } from './recording-timeline.js';
import { RecordingDownloads } from './recording-downloads.js';
import { button, element, labelled } from './dom.js';
import { formatBytes, formatClock } from './time-format.js';

/** How often the open day is read again while shown, for new segments and events. */
const REFRESH_MS = 30_000;
/** Playing a motion event starts this much before it. */
const EVENT_LEAD_MS = 2_000;
/** A new day's cursor starts this long before its last recorded moment. */
const NEW_DAY_CURSOR_LEAD_MS = 30_000;
const ZOOMS: [string, number][] = [
  ['24 h', DAY_MS],
  ['6 h', 6 * 3_600_000],
  ['1 h', 3_600_000],
  ['10 min', 600_000],
];

interface DayListing {
  segments: PlayableSegment[];
  events: MotionEvent[];
}

export class RecordingsPanel {
  private camera: string | undefined;
  private enabled = false;
  private day: string | undefined;
  private listing: DayListing = { segments: [], events: [] };
  private refreshTimer: number | undefined;
  private readonly status: HTMLElement;
  private readonly daySelect: HTMLSelectElement;
  private readonly message: HTMLElement;
  private readonly timeline: RecordingTimeline;
  private readonly events: HTMLElement;
  private readonly playButton: HTMLButtonElement;
  private readonly liveButton: HTMLButtonElement;
  private readonly position: HTMLElement;
  private readonly downloads = new RecordingDownloads();
  readonly player: RecordingPlayer;

  constructor(
    private readonly panel: HTMLDetailsElement,
    /** Playback started (true) or went back to live (false). */
    private readonly onPlayback: (playing: boolean) => void,
    /** The panel opened or closed: the live picture's room changed. */
    private readonly onResize: () => void,
  ) {
    panel.hidden = true;
    // Closed, it is one line (the recorder's state) and the live picture keeps the window.
    const summary = document.createElement('summary');
    summary.dataset.role = 'recordings-toggle';
    const title = element('span', 'rec-title');
    title.textContent = 'Recordings';
    this.status = element('span', 'rec-status');
    this.status.dataset.role = 'recorder-status';
    this.status.hidden = true;
    summary.append(title, this.status);
    panel.addEventListener('toggle', () => {
      this.onResize();
      if (panel.open) void this.refresh();
    });
    const head = element('div', 'rec-head');
    this.daySelect = document.createElement('select');
    this.daySelect.dataset.role = 'day';
    this.daySelect.addEventListener('change', () => void this.openDay(this.daySelect.value));
    const zoom = document.createElement('select');
    zoom.dataset.role = 'zoom';
    for (const [label, span] of ZOOMS) zoom.append(new Option(label, String(span)));
    zoom.addEventListener('change', () => this.timeline.zoom(Number(zoom.value)));
    this.message = element('span', 'muted rec-message');
    this.message.dataset.role = 'recordings-message';
    this.message.setAttribute('role', 'status');
    head.append(labelled('Day (UTC)', this.daySelect), labelled('Show', zoom), this.message);

    this.timeline = new RecordingTimeline(
      (time) => this.playFrom(time),
      () => this.updateLinks(),
    );
    this.events = element('div', 'rec-events');
    this.events.dataset.role = 'events';
    this.events.setAttribute('aria-label', 'Motion events');

    const actions = element('div', 'rec-actions');
    this.playButton = button('play', 'Play from here');
    this.playButton.addEventListener('click', () => this.playFrom(this.timeline.cursor));
    this.liveButton = button('live', 'Back to live');
    this.liveButton.hidden = true;
    this.liveButton.addEventListener('click', () => this.goLive());
    this.position = element('span', 'rec-position');
    this.position.dataset.role = 'position';
    actions.append(this.playButton, this.liveButton, this.position, this.downloads.snapshot, this.downloads.clipGroup);

    this.player = new RecordingPlayer(
      (time) => this.onPosition(time),
      () => void this.onEndOfRecording(),
    );
    panel.append(summary, head, this.timeline.element, this.events, actions);
  }

  /** From the relay's hello: whether it has RECORD_DIR at all. */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    if (this.camera) this.show(this.camera, true);
  }

  /** The single view opened on `camera`, or closed (undefined); `again` reloads the same camera. */
  show(camera: string | undefined, again = false): void {
    if (camera === this.camera && !again) return;
    if (camera !== this.camera) this.goLive();
    this.camera = camera;
    this.downloads.setCamera(camera);
    this.day = undefined;
    window.clearInterval(this.refreshTimer);
    this.updateVisibility();
    if (!camera || !this.enabled) return;
    if (this.panel.open) void this.loadDays();
    this.refreshTimer = window.setInterval(() => {
      if (this.panel.open) void this.refresh();
    }, REFRESH_MS);
  }

  /**
   * Shown when the relay has recordings, or a recorder reports on the camera (then the relay's
   * missing RECORD_DIR is worth saying); otherwise the single view is as it was.
   */
  private updateVisibility(): void {
    const hidden = this.camera === undefined || (!this.enabled && this.status.hidden);
    if (this.panel.hidden !== hidden) {
      this.panel.hidden = hidden;
      this.onResize();
    }
    this.panel.dataset.enabled = String(this.enabled);
    if (!this.enabled) this.message.textContent = 'No recordings: the relay has no RECORD_DIR.';
  }

  /** The recorder's state for the camera in view (from the relay's events). */
  setRecorder(status: RecordingStatus | undefined): void {
    this.status.hidden = status === undefined;
    this.updateVisibility();
    if (!status) return;
    this.status.dataset.state = status.state;
    const parts = [STATE_TEXT[status.state], `${formatBytes(status.bytesPerHour)}/h`, `${formatBytes(status.diskFreeBytes)} free`];
    if (status.lastError) parts.push(`last error: ${status.lastError}`);
    this.status.textContent = parts.join(' · ');
  }

  /** A motion event of the camera in view: an ended one is in the day's file now. */
  onMotion(event: MotionEvent | undefined): void {
    if (event?.camera === this.camera && this.panel.open) void this.refresh();
  }

  private async loadDays(): Promise<void> {
    const camera = this.camera;
    if (!camera) return;
    const answer = await this.fetchJson<{ days: string[] }>(`api/recordings/${encodeURIComponent(camera)}/days`);
    if (!answer || camera !== this.camera) return;
    const days = [...answer.days].reverse();
    this.daySelect.replaceChildren(...days.map((day) => new Option(day, day)));
    if (days.length === 0) {
      this.message.textContent = `Nothing of ${camera} recorded yet.`;
      this.timeline.show(Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`), [], []);
      return;
    }
    const day = this.day && days.includes(this.day) ? this.day : days[0]!;
    this.daySelect.value = day;
    await this.openDay(day);
  }

  private async openDay(day: string): Promise<void> {
    const camera = this.camera;
    if (!camera) return;
    const fresh = day !== this.day;
    this.day = day;
    const listing = await this.fetchJson<DayListing>(`api/recordings/${encodeURIComponent(camera)}/${day}`);
    if (!listing || camera !== this.camera || day !== this.day) return;
    this.listing = listing;
    const dayStart = Date.parse(`${day}T00:00:00Z`);
    const events = listing.events.map((event) => ({ start: event.start, end: event.end ?? Date.now() }));
    this.timeline.show(dayStart, listing.segments, events);
    // A new day starts the cursor a little before its last recorded moment.
    const last = listing.segments.at(-1);
    if (fresh) this.timeline.setCursor(last ? Math.max(last.start, last.end - NEW_DAY_CURSOR_LEAD_MS) : dayStart);
    this.message.textContent = `${listing.segments.length} segment${listing.segments.length === 1 ? '' : 's'}, ${listing.events.length} motion event${listing.events.length === 1 ? '' : 's'}`;
    this.renderEvents(listing.events);
  }

  private async refresh(): Promise<void> {
    if (!this.enabled) return;
    if (this.day) await this.openDay(this.day);
    else await this.loadDays();
  }

  private renderEvents(events: MotionEvent[]): void {
    this.events.replaceChildren(
      ...events.map((event) => {
        const node = button('event', eventLabel(event));
        node.addEventListener('click', () => {
          this.timeline.setCursor(event.start - EVENT_LEAD_MS);
          this.playFrom(event.start - EVENT_LEAD_MS);
        });
        return node;
      }),
    );
  }

  private playFrom(time: number): void {
    const camera = this.camera;
    if (!camera) return;
    if (!this.player.play(camera, this.listing.segments, time)) {
      this.message.textContent = `nothing recorded at or after ${formatClock(time)} on this day`;
      return;
    }
    this.message.textContent = '';
    this.liveButton.hidden = false;
    this.onPlayback(true);
  }

  /**
   * Playback reached the end of what was listed. The segment being written has grown since, or
   * the next one has begun: read the day again and play on from there; otherwise say so.
   */
  private async onEndOfRecording(): Promise<void> {
    const at = this.player.position;
    const camera = this.camera;
    if (at !== undefined && camera && this.day) {
      await this.openDay(this.day);
      // Only segments that go on past this moment: one that ended here would end again at once.
      const more = this.listing.segments.filter((segment) => segment.end > at + 1_000);
      if (more.length > 0 && this.player.playing && this.player.play(camera, more, at)) return;
    }
    this.message.textContent = 'end of the recording';
  }

  private goLive(): void {
    if (!this.player.playing) return;
    this.player.stop();
    this.liveButton.hidden = true;
    this.onPlayback(false);
  }

  private onPosition(time: number | undefined): void {
    this.timeline.setPlayhead(time);
    this.position.textContent = time === undefined ? '' : `playing ${formatClock(time)}`;
    this.updateLinks();
  }

  /** The snapshot is of the moment playing, else of the cursor; the clip starts there unless set. */
  private updateLinks(): void {
    this.downloads.showMoment(Math.round(this.player.position ?? this.timeline.cursor));
  }

  private async fetchJson<T>(url: string): Promise<T | undefined> {
    try {
      const answer = await fetch(url, { cache: 'no-store' });
      const body = (await answer.json()) as T & { error?: string; reason?: string };
      if (!answer.ok) throw new Error(body.error ?? String(answer.status));
      if (body.reason) this.message.textContent = body.reason;
      return body;
    } catch (error) {
      this.message.textContent = `recordings: ${error instanceof Error ? error.message : String(error)}`;
      return undefined;
    }
  }
}

const STATE_TEXT: Record<RecordingStatus['state'], string> = {
  recording: '● recording',
  waiting: 'waiting for motion',
  off: 'not recording',
  'disk-full': 'disk full: not recording',
  error: 'recorder error',
};

function eventLabel(event: MotionEvent): string {
  const length = event.end === undefined ? 'now' : `${Math.max(1, Math.round((event.end - event.start) / 1000))} s`;
  return `${formatClock(event.start)} · motion ${length}`;
}
