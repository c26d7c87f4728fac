/**
 * The toolbar of the single view: back to the grid, fullscreen, snapshot download, and (when the
 * relay says this viewer may) the camera's controls: fps, JPEG quality, resolution, pause. A
 * control change goes to POST api/cameras/<id>/control; the camera applies it and its next status
 * (and the picture itself) shows the result.
 */
import type { CameraTile } from './camera-tile.js';
import { button } from './dom.js';

const FPS_CHOICES = [1, 2, 5, 10, 15, 20, 25, 30];
const RESOLUTIONS = ['160x120', '320x240', '640x480', '800x600', '1280x720', '1920x1080'];

export class SingleViewBar {
  private tile: CameraTile | undefined;
  private canControl = false;
  /** For publishers whose status has no `paused` field: what the page last asked for. */
  private readonly pausedByUs = new Map<string, boolean>();
  private readonly fps: HTMLSelectElement;
  private readonly quality: HTMLInputElement;
  private readonly resolution: HTMLSelectElement;
  private readonly pause: HTMLButtonElement;
  private readonly snapshot: HTMLAnchorElement;
  private readonly result: HTMLElement;
  private readonly controls: HTMLElement;

  constructor(
    private readonly bar: HTMLElement,
    private readonly onBack: () => void,
  ) {
    bar.hidden = true;
    const back = button('back', '← All cameras');
    back.addEventListener('click', () => this.onBack());
    const fullscreen = button('fullscreen', 'Fullscreen');
    fullscreen.addEventListener('click', () => void this.tile?.element.requestFullscreen().catch(() => {}));
    this.snapshot = document.createElement('a');
    this.snapshot.dataset.action = 'snapshot';
    this.snapshot.className = 'button';
    this.snapshot.textContent = 'Snapshot';

    this.controls = document.createElement('span');
    this.controls.className = 'controls';
    this.fps = select('fps', FPS_CHOICES.map(String), (value) => `${value} fps`);
    this.fps.addEventListener('change', () => void this.send({ fps: Number(this.fps.value) }));
    this.quality = document.createElement('input');
    Object.assign(this.quality, { type: 'range', min: '5', max: '95', step: '5', title: 'JPEG quality' });
    this.quality.dataset.control = 'quality';
    this.quality.addEventListener('change', () => void this.send({ quality: Number(this.quality.value) }));
    this.resolution = select('resolution', RESOLUTIONS, (value) => value.replace('x', '×'));
    this.resolution.addEventListener('change', () => {
      const [width, height] = this.resolution.value.split('x').map(Number);
      void this.send({ width, height });
    });
    this.pause = button('pause', 'Pause');
    this.pause.dataset.control = 'pause';
    this.pause.addEventListener('click', () => {
      if (!this.tile) return;
      const paused = !this.isPaused(this.tile);
      void this.send({ paused }).then((ok) => {
        if (ok && this.tile) this.pausedByUs.set(this.tile.camera, paused);
        this.update();
      });
    });
    const qualityLabel = document.createElement('label');
    qualityLabel.append('quality ', this.quality);
    this.controls.append(this.fps, qualityLabel, this.resolution, this.pause);
    this.result = document.createElement('span');
    this.result.dataset.role = 'control-result';
    this.result.className = 'muted';
    bar.append(back, fullscreen, this.snapshot, this.controls, this.result);
  }

  setCanControl(canControl: boolean): void {
    this.canControl = canControl;
    this.update();
  }

  /** Shows the bar for `tile` (single view) or hides it (grid). */
  show(tile: CameraTile | undefined): void {
    if (tile?.camera !== this.tile?.camera) this.result.textContent = '';
    this.tile = tile;
    this.update();
  }

  private update(): void {
    const tile = this.tile;
    this.bar.hidden = tile === undefined;
    if (!tile) return;
    this.snapshot.href = `api/cameras/${encodeURIComponent(tile.camera)}/snapshot.jpg`;
    this.snapshot.download = `${tile.camera}-${new Date().toISOString().replace(/[:.]/g, '-')}.jpg`;
    this.controls.hidden = !this.canControl;
    const status = tile.status;
    if (status?.targetFps !== undefined) setChoice(this.fps, String(status.targetFps), `${status.targetFps} fps`);
    if (status?.quality !== undefined && document.activeElement !== this.quality) this.quality.value = String(status.quality);
    if (status?.width !== undefined && status.height !== undefined) {
      setChoice(this.resolution, `${status.width}x${status.height}`, `${status.width}×${status.height}`);
    }
    this.pause.textContent = this.isPaused(tile) ? 'Resume' : 'Pause';
  }

  /** The camera's own word when its status says (newer publishers), else what we last asked for. */
  private isPaused(tile: CameraTile): boolean {
    return tile.status?.paused ?? this.pausedByUs.get(tile.camera) ?? false;
  }

  private async send(command: Record<string, unknown>): Promise<boolean> {
    const camera = this.tile?.camera;
    if (!camera) return false;
    this.result.textContent = 'sending…';
    try {
      const response = await fetch(`api/cameras/${encodeURIComponent(camera)}/control`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(command),
      });
      const body = (await response.json().catch(() => ({}))) as {
        error?: string;
        answer?: { ok: boolean; error?: string; changed?: Record<string, unknown> };
      };
      // 200 carries the camera's own answer (MQTT 5); 202 only says the command went out.
      const answer = body.answer;
      if (!response.ok) this.result.textContent = `refused: ${body.error ?? response.status}`;
      else if (answer)
        this.result.textContent = answer.ok
          ? `camera: done ${JSON.stringify(answer.changed ?? {})}`
          : `camera refused: ${answer.error ?? 'no reason given'}`;
      else this.result.textContent = `sent ${JSON.stringify(command)}`;
      return response.ok && answer?.ok !== false;
    } catch (error) {
      this.result.textContent = `not sent: ${error instanceof Error ? error.message : String(error)}`;
      return false;
    }
  }
}

function select(control: string, values: string[], label: (value: string) => string): HTMLSelectElement {
  const node = document.createElement('select');
  node.dataset.control = control;
  node.title = control;
  for (const value of values) node.append(new Option(label(value), value));
  return node;
}

/** Selects `value`, adding it first when the camera runs at something the list does not offer. */
function setChoice(node: HTMLSelectElement, value: string, text: string): void {
  if (![...node.options].some((option) => option.value === value)) node.append(new Option(text, value));
  node.value = value;
}
