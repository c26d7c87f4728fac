/**
 * One day of a camera's recordings as a bar: recorded spans on one lane, motion events on another,
 * a cursor (the moment picked) and a playhead (the moment playing). The bar shows the whole UTC
 * day or a zoomed part of it around the cursor; tick labels are in the viewer's local time.
 *
 * Pointer or touch: a tap picks that moment and plays it. Keyboard (the bar is a slider): arrows
 * move the cursor 10 s (Shift: 1 min), Page Up/Down 10 min, Home/End the day's ends, Enter or
 * Space plays from the cursor.
 */
import { formatClock } from './time-format.js';
import { element } from './dom.js';

export const DAY_MS = 86_400_000;
const TICK_STEPS_MS = [60_000, 5 * 60_000, 15 * 60_000, 3_600_000, 3 * 3_600_000];
const MAX_TICKS = 8;

export interface Span {
  start: number;
  end: number;
}

export class RecordingTimeline {
  readonly element: HTMLElement;
  private readonly track: HTMLElement;
  private readonly segmentLane: HTMLElement;
  private readonly motionLane: HTMLElement;
  private readonly ticks: HTMLElement;
  private readonly cursorMark: HTMLElement;
  private readonly playheadMark: HTMLElement;
  private dayStart = 0;
  private segments: Span[] = [];
  private events: Span[] = [];
  private viewSpan = DAY_MS;
  private viewStart = 0;
  cursor = 0;
  private playhead: number | undefined;

  constructor(
    /** A moment was picked to play (tap, click, Enter). */
    private readonly onPlay: (time: number) => void,
    /** The cursor moved (keys, tap). */
    private readonly onCursor: (time: number) => void,
  ) {
    this.element = element('div', 'timeline');
    Object.assign(this.element, { tabIndex: 0 });
    this.element.setAttribute('role', 'slider');
    this.element.setAttribute('aria-label', 'Time of day to play from (arrows move, Enter plays)');
    this.track = element('div', 'timeline-track');
    this.segmentLane = element('div', 'lane lane-segments');
    this.motionLane = element('div', 'lane lane-motion');
    this.cursorMark = element('div', 'timeline-cursor');
    this.playheadMark = element('div', 'timeline-playhead');
    this.playheadMark.hidden = true;
    this.track.append(this.segmentLane, this.motionLane, this.cursorMark, this.playheadMark);
    this.ticks = element('div', 'timeline-ticks');
    this.element.append(this.track, this.ticks);
    this.track.addEventListener('pointerdown', (event) => {
      const box = this.track.getBoundingClientRect();
      const time = this.viewStart + ((event.clientX - box.left) / box.width) * this.viewSpan;
      this.setCursor(time);
      this.onPlay(this.cursor);
    });
    this.element.addEventListener('keydown', (event) => this.onKey(event));
  }

  /** A day (its UTC start), what was recorded on it and its motion events. */
  show(dayStart: number, segments: Span[], events: Span[]): void {
    this.dayStart = dayStart;
    this.segments = mergeTouching(segments);
    this.events = events;
    this.element.setAttribute('aria-valuemin', String(dayStart));
    this.element.setAttribute('aria-valuemax', String(dayStart + DAY_MS));
    this.render();
  }

  /** How much of the day the bar shows (the whole day, or a part around the cursor). */
  zoom(spanMs: number): void {
    this.viewSpan = Math.min(DAY_MS, spanMs);
    this.render();
  }

  setCursor(time: number): void {
    this.cursor = Math.round(Math.min(Math.max(time, this.dayStart), this.dayStart + DAY_MS - 1));
    this.element.setAttribute('aria-valuenow', String(this.cursor));
    this.element.setAttribute('aria-valuetext', formatClock(this.cursor));
    if (this.cursor < this.viewStart || this.cursor > this.viewStart + this.viewSpan) this.render();
    else this.place(this.cursorMark, this.cursor);
    this.onCursor(this.cursor);
  }

  setPlayhead(time: number | undefined): void {
    this.playhead = time;
    this.playheadMark.hidden = time === undefined || time < this.viewStart || time > this.viewStart + this.viewSpan;
    if (time !== undefined) this.place(this.playheadMark, time);
  }

  private onKey(event: KeyboardEvent): void {
    const step = event.shiftKey ? 60_000 : 10_000;
    const moves: Record<string, number> = {
      ArrowLeft: -step,
      ArrowDown: -step,
      ArrowRight: step,
      ArrowUp: step,
      PageDown: -600_000,
      PageUp: 600_000,
    };
    if (event.key in moves) this.setCursor(this.cursor + (moves[event.key] ?? 0));
    else if (event.key === 'Home') this.setCursor(this.dayStart);
    else if (event.key === 'End') this.setCursor(this.dayStart + DAY_MS);
    else if (event.key === 'Enter' || event.key === ' ') this.onPlay(this.cursor);
    else return;
    event.preventDefault();
  }

  private render(): void {
    const dayEnd = this.dayStart + DAY_MS;
    this.viewStart = Math.min(Math.max(this.cursor - this.viewSpan / 2, this.dayStart), dayEnd - this.viewSpan);
    const viewEnd = this.viewStart + this.viewSpan;
    this.element.dataset.viewStart = String(this.viewStart);
    this.element.dataset.viewEnd = String(viewEnd);
    const visible = (span: Span): boolean => span.end >= this.viewStart && span.start <= viewEnd;
    this.segmentLane.replaceChildren(...this.segments.filter(visible).map((span) => this.block('segment', span)));
    this.motionLane.replaceChildren(...this.events.filter(visible).map((span) => this.block('motion-mark', span)));
    const tickStep = TICK_STEPS_MS.find((step) => this.viewSpan / step <= MAX_TICKS) ?? 3 * 3_600_000;
    const ticks: HTMLElement[] = [];
    for (let time = Math.ceil(this.viewStart / tickStep) * tickStep; time <= viewEnd; time += tickStep) {
      const tick = element('span', 'tick');
      tick.textContent = formatClock(time, false);
      tick.style.left = `${this.percent(time)}%`;
      ticks.push(tick);
    }
    this.ticks.replaceChildren(...ticks);
    this.place(this.cursorMark, this.cursor);
    this.setPlayhead(this.playhead);
  }

  private block(className: string, span: Span): HTMLElement {
    const node = element('div', className);
    const left = this.percent(Math.max(span.start, this.viewStart));
    node.style.left = `${left}%`;
    node.style.width = `${Math.max(this.percent(Math.min(span.end, this.viewStart + this.viewSpan)) - left, 0)}%`;
    node.title = `${formatClock(span.start)} – ${formatClock(span.end)}`;
    return node;
  }

  private place(mark: HTMLElement, time: number): void {
    mark.style.left = `${this.percent(time)}%`;
  }

  private percent(time: number): number {
    return ((time - this.viewStart) / this.viewSpan) * 100;
  }
}

/** Back-to-back segments draw as one block: a day of them would otherwise be 1440 elements. */
function mergeTouching(spans: Span[]): Span[] {
  const merged: Span[] = [];
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    const last = merged.at(-1);
    if (last && span.start - last.end <= 2_000) last.end = Math.max(last.end, span.end);
    else merged.push({ ...span });
  }
  return merged;
}
