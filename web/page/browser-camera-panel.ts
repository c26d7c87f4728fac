/**
 * The header's "Use this device as a camera" controls: shown only when the relay's hello names a
 * camera this viewer may publish as (VIEWER_CAMERA_USERS), with a front/back choice, a stop
 * button and what is being sent (fps, kB/s, encode time).
 */
import { BrowserCamera, type BrowserCameraStats } from './browser-camera.js';
import type { ClockOffset } from './clock-offset.js';

export interface BrowserCameraPanelElements {
  panel: HTMLElement;
  facing: HTMLSelectElement;
  start: HTMLButtonElement;
  stop: HTMLButtonElement;
  stats: HTMLElement;
}

export class BrowserCameraPanel {
  private readonly camera: BrowserCamera;

  constructor(
    private readonly elements: BrowserCameraPanelElements,
    clock: ClockOffset,
  ) {
    const url = new URL('ws/camera', window.location.href);
    url.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.camera = new BrowserCamera(url.href, clock, (stats) => this.show(stats));
    elements.start.addEventListener('click', () => this.camera.start(elements.facing.value === 'environment' ? 'environment' : 'user'));
    elements.stop.addEventListener('click', () => this.camera.stop());
  }

  /** From the relay's hello: the camera id this viewer may publish as, or none. */
  offer(camera: string | undefined): void {
    this.elements.panel.hidden = camera === undefined;
    if (camera === undefined) {
      if (this.camera.running) this.camera.stop();
      return;
    }
    // getUserMedia exists only in a secure context: https, or http on localhost.
    if (!window.isSecureContext || !('mediaDevices' in navigator)) {
      this.elements.start.disabled = true;
      this.elements.stats.textContent = 'needs the page over HTTPS';
    }
    this.elements.start.title = `Publish this device's camera as ${camera}`;
  }

  private show(stats: BrowserCameraStats): void {
    const { start, stop, facing, stats: text, panel } = this.elements;
    const running = stats.state !== 'stopped';
    start.hidden = running;
    facing.disabled = running;
    stop.hidden = !running;
    panel.dataset.state = stats.state;
    if (stats.state === 'stopped') text.textContent = stats.problem ?? '';
    else if (stats.state === 'starting') text.textContent = 'starting…';
    else
      text.textContent = `${stats.camera ?? ''} ${stats.state === 'paused' ? 'paused' : `${stats.fps} fps`} · ${stats.kilobytesPerSecond} kB/s · encode ${stats.encodeMs.toFixed(1)} ms (${stats.encoder ?? ''})`;
    text.dataset.fps = String(stats.fps);
    text.dataset.encodeMs = stats.encodeMs.toFixed(2);
  }
}
