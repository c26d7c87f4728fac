/**
 * The recorder's settings (recording, retention, motion), part of the one settings table in
 * settings.ts: RECORD_DIR is the relay's too.
 */
import { z } from 'zod';
import { RECORD_FORMATS, RECORD_MODES } from '@camqtt/wire';
import { bool, fraction, int, pictureRects, portOrOff, setting, text } from './setting-values.js';

export const recorderSettings = {
  RECORD_MODE: setting(
    'Recorder: continuous (every frame of every recorded camera), motion (only around motion events, with RECORD_PREROLL_S and RECORD_POSTROLL_S) or off (no files; motion events still published).',
    'continuous',
    z.enum(RECORD_MODES, { error: 'must be continuous, motion or off' }),
  ),
  RECORD_CAMERAS: setting(
    'Cameras the recorder records, comma-separated camera ids. Empty: every camera it sees.',
    '',
    z.string().regex(/^\s*([A-Za-z0-9][A-Za-z0-9_-]{0,63}\s*(,\s*[A-Za-z0-9][A-Za-z0-9_-]{0,63}\s*)*)?$/, {
      error: 'must be camera ids (letters, digits, _ and -) separated by commas',
    }),
  ),
  RECORD_SEGMENT_S: setting('Seconds of video per recorded file (segment); a camera going offline ends one early.', '60', int(5, 3600)),
  RECORD_FORMAT: setting(
    "How recordings are stored: h264 (re-encoded, small, plays in every browser) or jpeg (the camera's JPEGs as they came, in MP4: no encoding cost, several times larger).",
    'h264',
    z.enum(RECORD_FORMATS, { error: 'must be h264 or jpeg' }),
  ),
  RECORD_RETENTION_HOURS: setting(
    'Recordings older than this many hours are deleted, oldest first (0: kept regardless of age).',
    '168',
    int(0, 876000),
  ),
  RECORD_MAX_GB: setting(
    'Most gigabytes of recordings to keep in RECORD_DIR; over it the oldest are deleted (0: no limit). Fractions allowed (0.5).',
    '10',
    z.coerce.number({ error: 'must be a number of gigabytes' }).min(0, { error: 'must be at least 0' }),
  ),
  RECORD_METRICS_PORT: setting(
    "Port of the recorder's /healthz and Prometheus /metrics, on 127.0.0.1 only (0: any free port; off: none).",
    '9884',
    portOrOff,
  ),
  RECORD_DIR: setting(
    'Folder of the recordings: the recorder writes <camera>/<YYYY-MM-DD>/<startMs>.mp4 segments and their segments.jsonl and events.jsonl there, and the relay serves them to the page (read only). Empty: no recordings.',
    '',
    text,
  ),
  MOTION_DETECTION: setting(
    "Recorder: watch each recorded camera for motion and publish events on <prefix>/<camera>/event (the page's badge, Home Assistant's motion sensor, the timeline). RECORD_MODE=motion needs it.",
    'true',
    bool,
  ),
  MOTION_THRESHOLD: setting(
    'How much a pixel must differ from the background to count as changed, in grey levels (1-255) of the downscaled, blurred picture; higher ignores more noise and small changes of light.',
    '25',
    int(1, 255),
  ),
  MOTION_MIN_AREA: setting(
    'Share of the (unmasked) picture that must change for motion, 0-1 (0.005: half a percent), on two detections in a row.',
    '0.005',
    fraction,
  ),
  MOTION_MASK: setting(
    'Regions motion detection ignores (a clock overlay, a tree, a busy road): rectangles x,y,width,height in fractions of the picture from its top-left corner, separated by ; (0,0,1,0.1 is the top tenth). Empty: none.',
    '',
    pictureRects,
  ),
  MOTION_FPS: setting(
    'Most motion detections per second per camera (the frames in between are not looked at; higher starts an event sooner, at a cost the README gives under Motion events).',
    '10',
    int(1, 60),
  ),
  RECORD_PREROLL_S: setting(
    'RECORD_MODE=motion: seconds of frames before the motion that a recording starts with (kept in memory per camera).',
    '5',
    int(0, 60),
  ),
  RECORD_POSTROLL_S: setting(
    'Seconds without motion after which a motion event ends (and, with RECORD_MODE=motion, its recording stops).',
    '10',
    int(1, 3600),
  ),
} as const;
