/**
 * The floor on this machine, in the same run: what one JPEG encode and one decode cost at each
 * size (OpenCV in the bench process, on a real frame the publisher sent), and what a bare MQTT
 * round trip of a frame-sized payload costs through each broker (no camqtt code in the path).
 */
import type { RunningBroker } from './brokers.js';
import { QUALITY } from './cases.js';
import { nowMs } from './clock.js';
import { mqttRoundTripMs } from './mqtt-probe.js';
import { cv } from './opencv.js';
import { distribution, median, type Distribution } from './stats.js';

export interface CodecFloor {
  size: string;
  bytes: number;
  /** Median ms of one cv.imencode at quality 60 / one cv.imdecode (synchronous: the pure cost). */
  encodeMs: number;
  decodeMs: number;
  /** The same through imencodeAsync / imdecodeAsync (what publisher and viewers call): adds the thread-pool hop. */
  encodeAsyncMs: number;
  decodeAsyncMs: number;
}

export interface RoundTripFloor {
  broker: string;
  size: string;
  bytes: number;
  roundTripMs: Distribution;
}

const CODEC_REPEATS = 40;
const ROUND_TRIPS = 150;

function timeEach(repeats: number, work: () => void): number {
  const times: number[] = [];
  work(); // warm: first call allocates
  for (let i = 0; i < repeats; i += 1) {
    const started = nowMs();
    work();
    times.push(nowMs() - started);
  }
  return median(times) ?? Number.NaN;
}

async function timeEachAsync(repeats: number, work: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  await work();
  for (let i = 0; i < repeats; i += 1) {
    const started = nowMs();
    await work();
    times.push(nowMs() - started);
  }
  return median(times) ?? Number.NaN;
}

/** Encode and decode costs of one real frame of a size, on an otherwise idle bench process. */
export async function codecFloor(size: string, frame: Buffer): Promise<CodecFloor> {
  const image = cv.imdecode(frame);
  const flags = [cv.IMWRITE_JPEG_QUALITY, QUALITY];
  const encoded = cv.imencode('.jpg', image, flags);
  return {
    size,
    bytes: encoded.length,
    encodeMs: timeEach(CODEC_REPEATS, () => cv.imencode('.jpg', image, flags)),
    // Each decoded image is freed at once, as publisher and viewers do: the figure is the decode,
    // not the page faults of fresh memory.
    decodeMs: timeEach(CODEC_REPEATS, () => cv.imdecode(encoded).release()),
    encodeAsyncMs: await timeEachAsync(CODEC_REPEATS, () => cv.imencodeAsync('.jpg', image, flags)),
    decodeAsyncMs: await timeEachAsync(CODEC_REPEATS, async () => (await cv.imdecodeAsync(encoded)).release()),
  };
}

export async function roundTripFloor(broker: RunningBroker, size: string, bytes: number): Promise<RoundTripFloor> {
  const times = await mqttRoundTripMs(broker, bytes, ROUND_TRIPS);
  return { broker: broker.kind, size, bytes, roundTripMs: distribution(times.slice(10)) };
}
