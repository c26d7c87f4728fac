/**
 * The cameras the relay knows about, built from the retained `<prefix>/<camera>/status` messages.
 * Every change is reported to one listener (the fan-out), which tells the viewers.
 */
import type { CameraStatus } from '@camqtt/wire';

export type DirectoryChange = { type: 'status'; status: CameraStatus } | { type: 'removed'; camera: string };

export class CameraDirectory {
  private readonly cameras = new Map<string, CameraStatus>();

  constructor(private readonly onChange: (change: DirectoryChange) => void) {}

  get size(): number {
    return this.cameras.size;
  }

  /** Every known camera, ordered by id so the page's grid is stable. */
  list(): CameraStatus[] {
    return [...this.cameras.values()].sort((a, b) => (a.camera < b.camera ? -1 : a.camera > b.camera ? 1 : 0));
  }

  get(camera: string): CameraStatus | undefined {
    return this.cameras.get(camera);
  }

  update(status: CameraStatus): void {
    this.cameras.set(status.camera, status);
    this.onChange({ type: 'status', status });
  }

  /** A cleared retained status means the camera is gone for good (not merely offline). */
  remove(camera: string): void {
    if (!this.cameras.delete(camera)) return;
    this.onChange({ type: 'removed', camera });
  }
}
