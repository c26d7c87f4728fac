/**
 * The camqtt viewer page: one tile per camera, fed by the relay's WebSocket at /ws.
 */
import type { ViewerEvent, ViewerFrame } from '@camqtt/protocol/viewer-wire';
import { CameraTile, type CameraStatus } from './camera-tile.js';
import { RelayConnection, type ConnectionState } from './relay-connection.js';

/** How often badges and rates are recomputed, so they change even when no frame arrives. */
const REFRESH_INTERVAL_MS = 500;

class CameraGrid {
  private readonly tiles = new Map<string, CameraTile>();

  constructor(
    private readonly grid: HTMLElement,
    private readonly empty: HTMLElement,
    private readonly count: HTMLElement,
  ) {}

  start(): void {
    window.setInterval(() => {
      const now = Date.now();
      for (const tile of this.tiles.values()) tile.refresh(now);
    }, REFRESH_INTERVAL_MS);
  }

  onFrame(frame: ViewerFrame): void {
    // A camera that sends frames without a status (an older publisher) still gets a tile.
    this.tile(frame.camera).offerFrame(frame.payload);
  }

  onEvent(event: ViewerEvent): void {
    switch (event.type) {
      case 'hello':
        this.sync(event.cameras);
        break;
      case 'status':
        this.tile(event.status.camera).setStatus(event.status);
        break;
      case 'removed':
        this.remove(event.camera);
        break;
      case 'error':
        console.warn(`camqtt relay: ${event.message}`);
        break;
    }
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
      tile = new CameraTile(camera);
      this.tiles.set(camera, tile);
      // Keep the grid ordered by camera id, like the relay's list.
      const after = [...this.tiles.keys()].sort().find((other) => other > camera);
      this.grid.insertBefore(tile.element, after ? (this.tiles.get(after)?.element ?? null) : null);
      this.updateCount();
    }
    return tile;
  }

  private remove(camera: string): void {
    this.tiles.get(camera)?.element.remove();
    this.tiles.delete(camera);
    this.updateCount();
  }

  private updateCount(): void {
    this.empty.hidden = this.tiles.size > 0;
    this.count.textContent = `${this.tiles.size} camera${this.tiles.size === 1 ? '' : 's'}`;
  }
}

function showConnection(banner: HTMLElement, state: ConnectionState): void {
  banner.dataset.state = state.state;
  banner.hidden = state.state === 'open';
  if (state.state === 'connecting') banner.textContent = 'Connecting…';
  if (state.state === 'reconnecting') banner.textContent = `Connection to the relay lost, reconnecting in ${(state.retryInMs / 1000).toFixed(1)} s…`;
}

function required(id: string): HTMLElement {
  const node = document.getElementById(id);
  if (!node) throw new Error(`page is missing #${id}`);
  return node;
}

const banner = required('connection-banner');
const cameras = new CameraGrid(required('grid'), required('empty'), required('camera-count'));
const wsUrl = new URL('ws', window.location.href);
wsUrl.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
// Reconnecting after a failure is the connection's job; 'connecting' only shows the first time.
let everOpened = false;
const connection = new RelayConnection(wsUrl.href, {
  onFrame: (frame) => cameras.onFrame(frame),
  onEvent: (event) => cameras.onEvent(event),
  onState: (state) => {
    if (state.state === 'open') everOpened = true;
    if (state.state === 'connecting' && everOpened) return;
    showConnection(banner, state);
  },
});
cameras.start();
connection.start();
