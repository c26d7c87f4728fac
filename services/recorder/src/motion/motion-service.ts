/**
 * Motion events for every recorded camera: takes each frame the recorder receives, publishes
 * start and end on `<prefix>/<camera>/event` (retained: the last event, so a page or Home
 * Assistant that connects later knows whether there is motion now), appends ended events to the
 * day's events.jsonl, and in RECORD_MODE=motion hands the recorder the frames to write.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { motionEventSchema, type MotionEvent, type Topics } from '@camqtt/wire';
import { CameraMotion, type CameraMotionOptions } from './camera-motion.js';
import { appendEvent } from './event-log.js';
import type { RingFrame } from './preroll-ring.js';

/** How often to look for cameras whose frames stopped during an event. */
const SILENCE_CHECK_MS = 1000;
/** One log line per camera per this many ms for frames that fail to decode. */
const DECODE_WARNING_MS = 60_000;

/** What motion mode needs from the recorder's per-camera writer. */
export interface MotionRecording {
  /** Write these frames (oldest first) to the camera's recording. */
  write(camera: string, frames: readonly RingFrame[]): void;
  /** The motion is over: close the camera's open segment. */
  close(camera: string): void;
}

export type MotionSettings = Omit<CameraMotionOptions, 'camera' | 'recordOnMotion'>;

export interface MotionServiceOptions {
  client: MqttClient;
  topics: Topics;
  /** RECORD_DIR for events.jsonl; undefined: events are only published (RECORD_MODE=off without a folder). */
  recordDir: string | undefined;
  settings: MotionSettings;
  /** Motion mode's writer; undefined in other modes. */
  recording?: MotionRecording;
  log: Logger;
  /** RECORD_CAMERAS: the cameras this recorder watches; empty: all. */
  cameras: readonly string[];
  /** Called with every event published (Home Assistant's link, status). */
  onEvent?: (event: MotionEvent) => void;
}

export class MotionService {
  private readonly cameras = new Map<string, CameraMotion>();
  private readonly decodeWarnedAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: MotionServiceOptions) {}

  start(): void {
    this.timer = setInterval(() => this.endSilentEvents(), SILENCE_CHECK_MS);
    this.options.client.on('message', this.onRetainedEvent);
    this.options.client.on('connect', this.readRetainedEvents);
    if (this.options.client.connected) this.readRetainedEvents();
  }

  /** Ends every event under way (publishing its end) and frees the detectors. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.options.client.off('message', this.onRetainedEvent);
    this.options.client.off('connect', this.readRetainedEvents);
    const ends: Promise<void>[] = [];
    for (const [camera, motion] of this.cameras) {
      const event = motion.finish();
      if (event) ends.push(this.emit(event));
      if (event) this.options.recording?.close(camera);
      motion.close();
    }
    this.cameras.clear();
    await Promise.all(ends);
  }

  /** Whether an event is under way for the camera. */
  active(camera: string): boolean {
    return this.cameras.get(camera)?.active ?? false;
  }

  /** Every frame of a recorded camera, in arrival order. */
  frame(camera: string, jpeg: Uint8Array, captureTime: number): void {
    let motion = this.cameras.get(camera);
    if (!motion) {
      motion = new CameraMotion({ ...this.options.settings, camera, recordOnMotion: this.options.recording !== undefined });
      this.cameras.set(camera, motion);
    }
    const outcome = motion.frame(jpeg, captureTime, Date.now());
    if (outcome.error) this.warnDecode(camera, outcome.error);
    const recording = this.options.recording;
    if (recording && outcome.record.length > 0) recording.write(camera, outcome.record);
    if (!outcome.event) return;
    void this.emit(outcome.event);
    if (outcome.event.state === 'end') recording?.close(camera);
  }

  /** The camera is gone: its event under way ends (in events.jsonl), and its retained event is cleared. */
  forget(camera: string): void {
    const motion = this.cameras.get(camera);
    if (!motion) return;
    this.cameras.delete(camera);
    const event = motion.finish();
    motion.close();
    if (event) this.options.recording?.close(camera);
    const { client, topics } = this.options;
    void (event ? this.emit(event) : Promise.resolve()).then(() =>
      client.publishAsync(topics.event(camera), '', { qos: 1, retain: true }).catch(() => undefined),
    );
  }

  /** A recorder killed during motion left a retained `start`: the broker sends it on subscribing. */
  private readonly readRetainedEvents = (): void => {
    const { client, topics, log } = this.options;
    client.subscribe(topics.all('event'), { qos: 1 }, (error, granted) => {
      if (error || granted?.[0]?.qos === 128)
        log.warn({ topic: topics.all('event') }, 'cannot read the retained motion events back; an event left open by a crash stays open');
    });
  };

  /** A retained `start` from before this recorder ran (no event of ours under way) gets its `end`, at its start. */
  private readonly onRetainedEvent = (topic: string, payload: Buffer, packet: IPublishPacket): void => {
    const parsed = this.options.topics.parse(topic);
    if (parsed?.kind !== 'event' || !packet.retain || payload.length === 0) return;
    let event: MotionEvent;
    try {
      event = motionEventSchema.parse(JSON.parse(payload.toString('utf8')));
    } catch {
      this.options.log.warn({ topic }, 'retained motion event is not one; left as it is');
      return;
    }
    // Another recorder's camera (RECORD_CAMERAS) is that recorder's to end.
    const { cameras } = this.options;
    if (event.state !== 'start' || this.active(parsed.camera) || (cameras.length > 0 && !cameras.includes(parsed.camera))) return;
    this.options.log.info({ camera: event.camera, id: event.id }, 'ending a motion event left open by an earlier run');
    void this.emit({ ...event, state: 'end', end: event.start });
  };

  private endSilentEvents(): void {
    const now = Date.now();
    for (const [camera, motion] of this.cameras) {
      const event = motion.endIfSilent(now);
      if (!event) continue;
      void this.emit(event);
      this.options.recording?.close(camera);
    }
  }

  private async emit(event: MotionEvent): Promise<void> {
    const { client, topics, log, recordDir } = this.options;
    log.info({ camera: event.camera, id: event.id, state: event.state, score: Number(event.score.toFixed(4)) }, `motion ${event.state}`);
    this.options.onEvent?.(event);
    const published = client
      .publishAsync(topics.event(event.camera), JSON.stringify(event), { qos: 1, retain: true })
      .catch((error: unknown) => log.warn({ camera: event.camera, error: String(error) }, 'motion event not published'));
    const logged =
      event.state === 'end' && recordDir !== undefined
        ? appendEvent(recordDir, event).catch((error: unknown) =>
            log.warn({ camera: event.camera, error: String(error) }, 'motion event not written to events.jsonl'),
          )
        : undefined;
    await Promise.all([published, logged]);
  }

  private warnDecode(camera: string, error: Error): void {
    const now = Date.now();
    if (now - (this.decodeWarnedAt.get(camera) ?? -Infinity) < DECODE_WARNING_MS) return;
    this.decodeWarnedAt.set(camera, now);
    this.options.log.warn({ camera, error: error.message }, 'frame skipped by motion detection: it does not decode');
  }
}
