/**
 * What the relay sends a browser over its WebSocket.
 *
 * Binary message = one frame:
 *   byte 0      format version (1)
 *   byte 1      n = length of the camera id in bytes (1..255)
 *   bytes 2-9   when the relay received the frame, float64 little-endian, ms since the Unix epoch
 *   bytes 10..  the camera id (UTF-8, n bytes), then the frame payload exactly as published
 *
 * Text message = one JSON `ViewerEvent`.
 *
 * No Node APIs here: the browser page bundles this file.
 */
import type { MotionEvent, RecordingStatus } from './recording.js';
import type { CameraStatus } from './status.js';
import { isCameraId } from './topics.js';

export const VIEWER_WIRE_VERSION = 1;
const HEADER_BYTES = 10;

export interface ViewerFrame {
  camera: string;
  receivedAt: number;
  payload: Uint8Array;
}

/** The relay's own link to the MQTT broker: without it no camera can appear, and the page says why. */
export interface BrokerLink {
  connected: boolean;
  /** The broker's address, without credentials. */
  broker: string;
  /** While not connected: why, and which setting to check (see connection-problem.ts). */
  problem?: string;
}

export type ViewerEvent =
  /**
   * Sent once on connect: every known camera, and the relay's clock for offset estimation.
   * `canControl` (absent from older relays: false) says whether POST /api/cameras/<id>/control is open to this viewer;
   * `loginRequired`, whether the relay has a login (so the page offers to log out);
   * `browserCamera`, the camera id this viewer may publish as from the browser (VIEWER_CAMERA_USERS), if any;
   * `recordings`, whether the relay serves recordings (RECORD_DIR set; /api/recordings);
   * `motion` and `recorders`, every camera's last motion event and recorder state (see recording.ts).
   */
  | {
      type: 'hello';
      serverTime: number;
      cameras: CameraStatus[];
      canControl?: boolean;
      loginRequired?: boolean;
      brokerLink?: BrokerLink;
      browserCamera?: string;
      recordings?: boolean;
      motion?: MotionEvent[];
      recorders?: RecordingStatus[];
    }
  /** The relay's link to the broker changed (connected, lost, refused). */
  | { type: 'broker'; link: BrokerLink }
  /** A camera's status changed (or it appeared). */
  | { type: 'status'; status: CameraStatus }
  /** A camera's retained status was cleared: it is gone. */
  | { type: 'removed'; camera: string }
  /** A camera's motion event started or ended (`<prefix>/<camera>/event`); without `event`: cleared. */
  | { type: 'motion'; camera: string; event?: MotionEvent }
  /** The recorder's state for a camera changed (`<prefix>/<camera>/recording`); without `status`: cleared. */
  | { type: 'recording'; camera: string; status?: RecordingStatus }
  /** An error about something the browser sent. */
  | { type: 'error'; message: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Builds the header once per frame; every viewer of the camera is sent the same bytes. */
export function encodeViewerFrame(camera: string, receivedAt: number, payload: Uint8Array): Uint8Array {
  const id = encoder.encode(camera);
  if (id.length === 0 || id.length > 255) throw new RangeError('camera id must be 1..255 bytes');
  const out = new Uint8Array(HEADER_BYTES + id.length + payload.length);
  out[0] = VIEWER_WIRE_VERSION;
  out[1] = id.length;
  new DataView(out.buffer, out.byteOffset, out.byteLength).setFloat64(2, receivedAt, true);
  out.set(id, HEADER_BYTES);
  out.set(payload, HEADER_BYTES + id.length);
  return out;
}

/** Reads a binary frame message; undefined if it is not one. The payload is a view, not a copy. */
export function decodeViewerFrame(message: Uint8Array): ViewerFrame | undefined {
  if (message.length < HEADER_BYTES + 1 || message[0] !== VIEWER_WIRE_VERSION) return undefined;
  const idLength = message[1]!;
  const payloadStart = HEADER_BYTES + idLength;
  if (idLength === 0 || payloadStart > message.length) return undefined;
  const receivedAt = new DataView(message.buffer, message.byteOffset, message.byteLength).getFloat64(2, true);
  return {
    camera: decoder.decode(message.subarray(HEADER_BYTES, payloadStart)),
    receivedAt,
    payload: message.subarray(payloadStart),
  };
}

/**
 * What a browser may send the relay (a text message, JSON). A viewer receives every camera until
 * it sends a `select`; `"*"` goes back to every camera (the grid), a list narrows it (single view),
 * and an empty list stops frames (hidden tab).
 */
export type ViewerRequest = { type: 'select'; cameras: string[] | '*' };

/** More cameras than this in one `select` is not a real page. */
export const MAX_SELECTED_CAMERAS = 1024;

/** Parses a browser's text message; returns an error message (sent back to it) instead of throwing. */
export function parseViewerRequest(text: string): ViewerRequest | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: 'malformed message: expected a JSON object with a string "type"' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { type?: unknown }).type !== 'string') {
    return { error: 'malformed message: expected a JSON object with a string "type"' };
  }
  const { type, cameras } = value as { type: string; cameras?: unknown };
  if (type !== 'select') return { error: `unknown message type ${JSON.stringify(type)}` };
  if (cameras === '*') return { type, cameras };
  if (
    !Array.isArray(cameras) ||
    cameras.length > MAX_SELECTED_CAMERAS ||
    !cameras.every((id) => typeof id === 'string' && isCameraId(id))
  ) {
    return { error: `select: "cameras" must be "*" or a list of at most ${MAX_SELECTED_CAMERAS} camera ids` };
  }
  return { type, cameras: [...new Set(cameras as string[])] };
}
