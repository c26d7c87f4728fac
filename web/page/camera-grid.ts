/**
 * Every camera as a tile, laid out to use the window: the column count is the one that makes the
 * tiles largest for this many cameras, so one camera fills the screen and four make a 2x2.
 * Clicking a tile opens the single view (only that camera, large); Escape or Back returns.
 *
 * The grid tells the relay what it needs (`select`): all cameras in the grid, one in single view,
 * none while the tab is hidden, so no bandwidth or decoding goes to frames nobody sees.
 */
import type { MotionEvent, RecordingStatus, ViewerEvent, ViewerFrame } from '@camqtt/wire';
import type { ClockOffset } from './clock-offset.js';
import type { DecoderKind } from './frame-decoder.js';
import { CameraTile, type CameraStatus } from './camera-tile.js';

/** How often badges and rates are recomputed, so they change even when no frame arrives. */
const REFRESH_INTERVAL_MS = 500;
/** Narrower than this is a phone: one column, scrolled. */
const PHONE_WIDTH_PX = 600;
/** Height of the bar under each tile, and the gap between tiles. */
const TILE_BAR_PX = 34;
const GAP_PX = 12;

export interface GridElements {
  grid: HTMLElement;
  empty: HTMLElement;
  count: HTMLElement;
}

export class CameraGrid {
  private readonly tiles = new Map<string, CameraTile>();
  /** The camera in single view, or undefined for the grid. */
  private single: string | undefined;
  private hidden = false;
  /** A recording plays in place of the single view's live picture: no live frames meanwhile. */
  private playback = false;
  /** The recorder's word per camera, kept for tiles that appear after it. */
  private readonly motion = new Map<string, MotionEvent>();
  private readonly recorders = new Map<string, RecordingStatus>();
  private refreshTimer: number | undefined;
  private readonly resizeObserver = new ResizeObserver(() => this.layout());

  constructor(
    private readonly elements: GridElements,
    private readonly clock: ClockOffset,
    private readonly decoder: DecoderKind,
    /** Sends the current selection to the relay. */
    private readonly select: (cameras: string[] | '*') => void,
    /** Told when the single view opens or closes. */
    private readonly onView: (camera: CameraTile | undefined) => void,
  ) {}

  start(): void {
    this.refreshTimer = window.setInterval(() => {
      const now = Date.now();
      for (const tile of this.tiles.values()) tile.refresh(now);
    }, REFRESH_INTERVAL_MS);
    this.resizeObserver.observe(document.documentElement);
    this.elements.grid.addEventListener('resized', () => this.layout());
    this.elements.grid.addEventListener('click', (event) => {
      const tile = (event.target as Element).closest<HTMLElement>('.tile');
      if (tile?.dataset.camera && this.single === undefined) this.open(tile.dataset.camera);
    });
    this.elements.grid.addEventListener('keydown', (event) => {
      const tile = (event.target as Element).closest<HTMLElement>('.tile');
      if (event.key === 'Enter' && tile?.dataset.camera && this.single === undefined) this.open(tile.dataset.camera);
    });
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.single !== undefined && !document.fullscreenElement) this.close();
    });
    document.addEventListener('visibilitychange', () => this.setHidden(document.visibilityState === 'hidden'));
    this.hidden = document.visibilityState === 'hidden';
  }

  stop(): void {
    window.clearInterval(this.refreshTimer);
    this.resizeObserver.disconnect();
  }

  get singleCamera(): string | undefined {
    return this.single;
  }

  onFrame(frame: ViewerFrame): void {
    // Frames already on their way when the tab was hidden or the view changed are not drawn.
    if (this.hidden || this.playback || (this.single !== undefined && frame.camera !== this.single)) return;
    // A camera that sends frames without a status (an older publisher) still gets a tile.
    this.tile(frame.camera).offerFrame(frame.payload, frame.receivedAt);
  }

  onEvent(event: ViewerEvent): void {
    switch (event.type) {
      case 'hello':
        this.sync(event.cameras);
        this.motion.clear();
        this.recorders.clear();
        for (const motion of event.motion ?? []) this.motion.set(motion.camera, motion);
        for (const status of event.recorders ?? []) this.recorders.set(status.camera, status);
        for (const [camera, tile] of this.tiles) {
          tile.setMotion(this.motion.get(camera));
          tile.setRecorder(this.recorders.get(camera));
        }
        break;
      case 'motion':
        setOrDelete(this.motion, event.camera, event.event);
        this.tiles.get(event.camera)?.setMotion(event.event);
        break;
      case 'recording':
        setOrDelete(this.recorders, event.camera, event.status);
        this.tiles.get(event.camera)?.setRecorder(event.status);
        break;
      case 'status':
        this.tile(event.status.camera).setStatus(event.status);
        if (event.status.camera === this.single) this.onView(this.tiles.get(this.single));
        break;
      case 'removed':
        this.remove(event.camera);
        break;
      case 'error':
        console.warn(`camqtt relay: ${event.message}`);
        break;
    }
  }

  /** After a (re)connect: the relay starts with every camera, so tell it again what we watch. */
  onConnected(): void {
    for (const tile of this.tiles.values()) tile.resetSequence();
    this.sendSelection();
  }

  open(camera: string): void {
    if (!this.tiles.has(camera)) return;
    this.single = camera;
    this.elements.grid.dataset.mode = 'single';
    for (const [id, tile] of this.tiles) tile.element.hidden = id !== camera;
    if (window.location.hash !== `#camera=${camera}`) window.history.pushState(null, '', `#camera=${encodeURIComponent(camera)}`);
    this.sendSelection();
    this.layout();
    this.onView(this.tiles.get(camera));
  }

  close(): void {
    if (this.single === undefined) return;
    this.single = undefined;
    delete this.elements.grid.dataset.mode;
    for (const tile of this.tiles.values()) {
      tile.element.hidden = false;
      tile.resetSequence();
    }
    if (window.location.hash) window.history.pushState(null, '', window.location.pathname + window.location.search);
    this.sendSelection();
    this.layout();
    this.onView(undefined);
  }

  /** The recorder's last state for `camera`, if it reported one. */
  recorderOf(camera: string): RecordingStatus | undefined {
    return this.recorders.get(camera);
  }

  /** While a recording plays in the single view, the live picture is hidden and not sent. */
  setPlayback(playing: boolean): void {
    if (playing === this.playback) return;
    this.playback = playing;
    this.elements.grid.hidden = playing;
    if (!playing) for (const tile of this.tiles.values()) tile.resetSequence();
    this.sendSelection();
    if (!playing) this.layout();
  }

  private setHidden(hidden: boolean): void {
    if (hidden === this.hidden) return;
    this.hidden = hidden;
    if (!hidden) for (const tile of this.tiles.values()) tile.resetSequence();
    this.sendSelection();
  }

  private sendSelection(): void {
    this.select(this.hidden || this.playback ? [] : this.single !== undefined ? [this.single] : '*');
  }

  /** After a (re)connect the relay's list is the truth: drop tiles of cameras it no longer has. */
  private sync(cameras: CameraStatus[]): void {
    const known = new Set(cameras.map((status) => status.camera));
    for (const camera of this.tiles.keys()) if (!known.has(camera)) this.remove(camera);
    for (const status of cameras) this.tile(status.camera).setStatus(status);
  }

  private tile(camera: string): CameraTile {
    let tile = this.tiles.get(camera);
    if (!tile) {
      tile = new CameraTile(camera, this.clock, this.decoder);
      tile.setMotion(this.motion.get(camera));
      tile.setRecorder(this.recorders.get(camera));
      this.tiles.set(camera, tile);
      tile.element.hidden = this.single !== undefined;
      // Keep the grid ordered by camera id, like the relay's list.
      const after = [...this.tiles.keys()].sort().find((other) => other > camera);
      this.elements.grid.insertBefore(tile.element, after ? (this.tiles.get(after)?.element ?? null) : null);
      this.updateCount();
      // A deep link (#camera=cam2) opens its camera as soon as it is known.
      if (this.single === undefined && new URLSearchParams(window.location.hash.slice(1)).get('camera') === camera) this.open(camera);
    }
    return tile;
  }

  private remove(camera: string): void {
    this.tiles.get(camera)?.element.remove();
    this.tiles.delete(camera);
    if (camera === this.single) this.close();
    this.updateCount();
  }

  private updateCount(): void {
    this.elements.empty.hidden = this.tiles.size > 0;
    this.elements.count.textContent = `${this.tiles.size} camera${this.tiles.size === 1 ? '' : 's'}`;
    this.layout();
  }

  /** Picks the column count that gives the largest tiles that still fit the window's height. */
  private layout(): void {
    const grid = this.elements.grid;
    const visible = [...this.tiles.values()].filter((tile) => !tile.element.hidden);
    const count = visible.length;
    const width = grid.clientWidth - 2 * GAP_PX;
    if (count === 0 || width <= 0) return;
    const first = visible[0]!.canvas;
    const aspect = first.dataset.sized !== undefined ? first.width / first.height : 4 / 3;
    if (window.innerWidth < PHONE_WIDTH_PX) {
      grid.style.gridTemplateColumns = 'minmax(0, 1fr)';
      grid.style.setProperty('--tile-width', `${width}px`);
      return;
    }
    const height = window.innerHeight - grid.getBoundingClientRect().top - GAP_PX;
    let best = { columns: 1, tileWidth: 0 };
    for (let columns = 1; columns <= count; columns += 1) {
      const rows = Math.ceil(count / columns);
      const byWidth = (width - GAP_PX * (columns - 1)) / columns;
      const byHeight = ((height - GAP_PX * (rows - 1)) / rows - TILE_BAR_PX) * aspect;
      const tileWidth = Math.max(Math.min(byWidth, byHeight), 160);
      if (tileWidth > best.tileWidth + 0.5) best = { columns, tileWidth };
    }
    const tileWidth = Math.floor(Math.min(best.tileWidth, (width - GAP_PX * (best.columns - 1)) / best.columns));
    grid.style.gridTemplateColumns = `repeat(${best.columns}, ${tileWidth}px)`;
    grid.style.setProperty('--tile-width', `${tileWidth}px`);
  }
}

function setOrDelete<V>(map: Map<string, V>, key: string, value: V | undefined): void {
  if (value === undefined) map.delete(key);
  else map.set(key, value);
}
