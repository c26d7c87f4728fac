/**
 * What the recorder says on the broker, kept for the page: each camera's last motion event
 * (`<prefix>/<camera>/event`) and its recorder's state (`<prefix>/<camera>/recording`), both
 * retained. Every change goes to one listener (the fan-out); a viewer that arrives gets the
 * current ones in its hello. Invalid messages are dropped with a warning (one per camera a minute).
 */
import type { Logger } from 'pino';
import { motionEventSchema, recordingStatusSchema, type MotionEvent, type RecordingStatus, type ViewerEvent } from '@camqtt/wire';
import { PerKeyRateLimit } from '@camqtt/service-kit';

const BAD_PAYLOAD_LOG_WINDOW_MS = 60_000;

export class RecorderFeed {
  private readonly motion = new Map<string, MotionEvent>();
  private readonly recorders = new Map<string, RecordingStatus>();
  private readonly badPayloadLog = new PerKeyRateLimit(BAD_PAYLOAD_LOG_WINDOW_MS);

  constructor(
    private readonly onChange: (event: ViewerEvent) => void,
    private readonly log: Logger,
  ) {}

  /** The last motion event of every camera that has had one. */
  motionEvents(): MotionEvent[] {
    return [...this.motion.values()];
  }

  /** The recorder's state for every camera it reported on. */
  recorderStates(): RecordingStatus[] {
    return [...this.recorders.values()];
  }

  lastMotion(camera: string): MotionEvent | undefined {
    return this.motion.get(camera);
  }

  /** A message on `<prefix>/<camera>/event` or `.../recording`; an empty one clears the retained value. */
  onMessage(camera: string, kind: 'event' | 'recording', payload: Buffer): void {
    const store = kind === 'event' ? this.motion : this.recorders;
    if (payload.length === 0) {
      if (!store.delete(camera)) return;
      this.onChange(kind === 'event' ? { type: 'motion', camera } : { type: 'recording', camera });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      value = undefined;
    }
    // The topic names the camera; a body that disagrees does not get to move it.
    if (kind === 'event') {
      const parsed = motionEventSchema.safeParse(value);
      if (!parsed.success) {
        this.warn(camera, kind, parsed.error.issues[0]?.message);
        return;
      }
      const event = { ...parsed.data, camera };
      this.motion.set(camera, event);
      this.onChange({ type: 'motion', camera, event });
    } else {
      const parsed = recordingStatusSchema.safeParse(value);
      if (!parsed.success) {
        this.warn(camera, kind, parsed.error.issues[0]?.message);
        return;
      }
      const status = { ...parsed.data, camera };
      this.recorders.set(camera, status);
      this.onChange({ type: 'recording', camera, status });
    }
  }

  private warn(camera: string, kind: string, reason: string | undefined): void {
    const { allowed, suppressed } = this.badPayloadLog.take(`${camera}/${kind}`);
    if (allowed)
      this.log.warn(
        { camera, topic: kind, reason: reason ?? 'not JSON', suppressedSinceLastLog: suppressed },
        `ignored an invalid ${kind} message`,
      );
  }
}
