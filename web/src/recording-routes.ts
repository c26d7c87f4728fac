/**
 * /api/recordings: what the recorder wrote under RECORD_DIR, for the page's timeline and player.
 * Mounted behind the access guard like the rest of /api. Times are ms since the epoch.
 *
 *   GET /api/recordings                                 { enabled, cameras }: cameras with recordings
 *   GET /api/recordings/<camera>/days                   { days }: UTC days with at least one segment
 *   GET /api/recordings/<camera>/<day>                  { segments, events } of that UTC day
 *   GET /api/recordings/<camera>/<day>/<start>.mp4      one segment, with HTTP Range
 *   GET /api/recordings/<camera>/clip.mp4?from=&to=     one MP4 of the span, copied (no re-encode)
 *   GET /api/recordings/<camera>/snapshot.jpg?at=       the frame at that time, JPEG
 *   GET /api/recordings/<camera>/play.mjpg?from=        JPEG-format recordings played from `from` as MJPEG
 */
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { isCameraId, recordingDay, type MotionEvent } from '@camqtt/wire';
import type { FfmpegJobs } from './ffmpeg-jobs.js';
import {
  clipArgs,
  concatList,
  MJPEG_PLAYBACK_TYPE,
  mjpegPlaybackArgs,
  snapshotAt,
  streamFfmpeg,
  type PathedSegment,
} from './recording-media.js';
import { DAY_PATTERN, type RecordingStore } from './recording-store.js';
import type { ViewerIdentity } from './viewer-identity.js';

/** Longest clip one download may ask for: an hour of 640x480 H.264 is a few hundred MB. */
export const MAX_CLIP_MS = 60 * 60_000;
/** MJPEG playback runs at most this far from its start before it ends (the page asks again). */
const MAX_PLAYBACK_MS = 60 * 60_000;
const SEGMENT_NAME = /^(\d{1,15})\.mp4$/;
/** A time a person could mean: after 2000-01-01 and before 2100. */
const EARLIEST_MS = 946_684_800_000;
const LATEST_MS = 4_102_444_800_000;

export interface RecordingRoutesOptions {
  store: RecordingStore;
  jobs: FfmpegJobs;
  /** The motion event in progress (not in events.jsonl until it ends), from the broker. */
  currentMotion: (camera: string) => MotionEvent | undefined;
  /** Who a request is (the access guard's word), so a removed account's streams can be ended. */
  viewerOf: (request: Request) => ViewerIdentity;
  log: Logger;
}

class BadRequest extends Error {}

export function recordingRoutes({ store, jobs, currentMotion, viewerOf, log }: RecordingRoutesOptions): express.Router {
  /** Whose FFmpeg runs count together: an account's, or (shared password, no login) one address's. */
  const jobOwner = (request: Request): string => {
    const user = viewerOf(request).user;
    return user === undefined ? `address ${request.ip ?? ''}` : `user ${user}`;
  };
  const router = express.Router();
  const noRecordings = 'no recordings: RECORD_DIR is not set on the relay';

  const camera = (request: Request): string => {
    const id = String(request.params.camera ?? '');
    if (!isCameraId(id)) throw new BadRequest(`${JSON.stringify(id)} is not a camera id (letters, digits, _ and -)`);
    return id;
  };
  const busy = (response: Response): void => {
    response
      .status(503)
      .set('Retry-After', '5')
      .json({ error: `the relay is already running ${jobs.size} recording jobs (clips, snapshots, playback); try again in a few seconds` });
  };

  router.get('/', async (_request, response) => {
    response.json({ enabled: store.root !== undefined, cameras: await store.cameras(), ...(store.root ? {} : { reason: noRecordings }) });
  });

  router.get('/:camera/days', async (request, response) => {
    const id = camera(request);
    response.json({ camera: id, days: await store.days(id), ...(store.root ? {} : { reason: noRecordings }) });
  });

  router.get('/:camera/clip.mp4', async (request, response) => {
    const id = camera(request);
    const from = time(request.query.from, 'from');
    const to = time(request.query.to, 'to');
    if (to <= from) throw new BadRequest('"to" must be after "from"');
    if (to - from > MAX_CLIP_MS) throw new BadRequest(`a clip may be at most ${MAX_CLIP_MS / 60_000} minutes long`);
    const segments = sameFormat(await store.segmentsBetween(id, from, to));
    if (segments.length === 0) {
      response.status(404).json({ error: `nothing of ${id} was recorded between ${iso(from)} and ${iso(to)}` });
      return;
    }
    const started = streamFfmpeg(jobs, response, {
      purpose: 'clip',
      viewer: viewerOf(request),
      owner: jobOwner(request),
      args: clipArgs(),
      input: concatList(segments, from, to),
      headers: {
        'Content-Type': 'video/mp4',
        'Content-Disposition': `attachment; filename="${id}-${fileTime(from)}-${Math.round((to - from) / 1000)}s.mp4"`,
        'Cache-Control': 'no-store',
      },
    });
    if (!started) busy(response);
  });

  router.get('/:camera/snapshot.jpg', async (request, response) => {
    const id = camera(request);
    const at = time(request.query.at, 'at');
    const segment = (await store.segmentsBetween(id, at, at)).at(-1);
    const shot = segment ? await snapshotAt(jobs, segment, at - segment.start, jobOwner(request)) : undefined;
    if (shot === undefined) {
      response.status(404).json({ error: `nothing of ${id} was recorded at ${iso(at)}` });
    } else if ('busy' in shot) busy(response);
    else if ('error' in shot) response.status(500).json({ error: shot.error });
    else
      response
        .set({
          'Content-Type': 'image/jpeg',
          'Cache-Control': 'no-store',
          'Content-Disposition': `inline; filename="${id}-${fileTime(at)}.jpg"`,
        })
        .send(shot.jpeg);
  });

  router.get('/:camera/play.mjpg', async (request, response) => {
    const id = camera(request);
    const from = time(request.query.from, 'from');
    const segments = (await store.segmentsBetween(id, from, from + MAX_PLAYBACK_MS)).filter((segment) => segment.format === 'jpeg');
    // Playback starts in the segment holding `from`, or the next one after a gap.
    const playable = segments.filter((segment) => segment.end >= from);
    if (playable.length === 0) {
      response.status(404).json({ error: `no JPEG-format recording of ${id} at or after ${iso(from)}` });
      return;
    }
    const started = streamFfmpeg(jobs, response, {
      purpose: 'mjpeg playback',
      viewer: viewerOf(request),
      owner: jobOwner(request),
      args: mjpegPlaybackArgs(),
      input: concatList(playable, from, from + MAX_PLAYBACK_MS),
      headers: { 'Content-Type': MJPEG_PLAYBACK_TYPE, 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' },
    });
    if (!started) busy(response);
  });

  router.get('/:camera/:day', async (request, response) => {
    const id = camera(request);
    const day = dayOf(request);
    const recorded = await store.day(id, day);
    // The event in progress is not in events.jsonl until it ends; the page still shows it.
    const ongoing = currentMotion(id);
    const events = ongoing?.state === 'start' && recordingDay(ongoing.start) === day ? [...recorded.events, ongoing] : recorded.events;
    response.json({ camera: id, day, segments: recorded.segments, events, ...(store.root ? {} : { reason: noRecordings }) });
  });

  router.get('/:camera/:day/:file', (request, response, next) => {
    const id = camera(request);
    const day = dayOf(request);
    const start = Number(SEGMENT_NAME.exec(request.params.file)?.[1] ?? Number.NaN);
    if (!Number.isSafeInteger(start)) throw new BadRequest('a segment is <start>.mp4, start in ms since the epoch');
    const path = store.segmentPath(id, day, start);
    if (!store.root || !path) {
      response.status(404).json({ error: noRecordings });
      return;
    }
    // Relative to RECORD_DIR as send's root, which also refuses any path that climbs out of it.
    response.sendFile(
      `${id}/${day}/${start}.mp4`,
      { root: store.root, dotfiles: 'deny', headers: { 'Content-Type': 'video/mp4', 'Cache-Control': 'private, no-cache' } },
      (error?: Error & { status?: number; statusCode?: number }) => {
        if (!error) return;
        if (response.headersSent) return;
        const status = error.status ?? error.statusCode ?? 500;
        if (status === 404) response.status(404).json({ error: `no segment ${id}/${day}/${start}.mp4` });
        else if (status < 500) response.status(status).json({ error: error.message });
        else next(error);
      },
    );
  });

  router.use((error: unknown, request: Request, response: Response, next: express.NextFunction) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    if (error instanceof BadRequest) {
      response.status(400).json({ error: error.message });
      return;
    }
    // Most likely RECORD_DIR's permissions (the web container runs as uid 1000): say so, not a stack.
    const code = (error as NodeJS.ErrnoException).code;
    log.error({ err: error, path: request.path }, 'could not read the recordings');
    response.status(500).json({
      error: `could not read the recordings${code ? ` (${code})` : ''}: check that the relay may read RECORD_DIR`,
    });
  });
  return router;
}

function dayOf(request: Request): string {
  const day = String(request.params.day ?? '');
  if (!DAY_PATTERN.test(day)) throw new BadRequest(`${JSON.stringify(day)} is not a day (YYYY-MM-DD)`);
  return day;
}

/** A query parameter holding a time in ms since the epoch. */
function time(value: unknown, name: string): number {
  const text = typeof value === 'string' ? value : '';
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!(ms >= EARLIEST_MS && ms <= LATEST_MS)) throw new BadRequest(`"${name}" must be a time in ms since the epoch`);
  return ms;
}

/** Copying cannot join H.264 and JPEG segments (RECORD_FORMAT changed mid-span): the first one's format is used. */
function sameFormat(segments: PathedSegment[]): PathedSegment[] {
  const format = segments[0]?.format;
  return segments.filter((segment) => segment.format === format);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function fileTime(ms: number): string {
  return iso(ms)
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
}
