/**
 * A child process holding some of the bench's viewers, driven by the bench over IPC. Viewers live
 * outside the bench process so that a busy or crashing client (100 sockets, OpenCV decodes) cannot
 * take the bench down or delay its MQTT probe; decoding viewers get a process of their own, so the
 * 100 sequence-checking sockets do not delay their decodes either.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BenchViewer, type ViewerKind } from './viewers.js';

export type FleetRequest =
  /** `stamped`: the camera stamps its send time into the picture; decoding viewers time from that. */
  | { type: 'open'; url: string; kinds: ViewerKind[]; firstId: number; timeoutMs: number; stamped: boolean }
  | { type: 'first-frame'; timeoutMs: number }
  | { type: 'measure'; on: boolean }
  | { type: 'collect' };

export interface CollectedViewer {
  kind: ViewerKind;
  tallies: Array<[string, { frames: number; lost: number; bytes: number }]>;
  captureToClient: number[];
  relayToClient: number[];
  captureToRelay: number[];
  captureToDecoded: number[];
  decodeMs: number[];
  cameraToGrab: number[];
  decodeSkipped: number;
  /** Stamped cameras: decoded frames whose stamp could not be read. */
  unstamped: number;
}

export type FleetReply =
  { type: 'done' } | { type: 'error'; message: string } | { type: 'collected'; viewers: CollectedViewer[]; loopDelayP99Ms: number };

const viewers: BenchViewer[] = [];
const loopDelay = monitorEventLoopDelay({ resolution: 1 });

function reply(message: FleetReply): void {
  process.send?.(message);
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function handle(request: FleetRequest): Promise<FleetReply> {
  switch (request.type) {
    case 'open':
      request.kinds.forEach((kind, i) => viewers.push(new BenchViewer(request.firstId + i, kind, request.url, request.stamped)));
      await within(Promise.all(viewers.map((v) => v.opened(request.timeoutMs))), request.timeoutMs + 1000, 'viewers connecting');
      return { type: 'done' };
    case 'first-frame':
      await within(Promise.all(viewers.map((v) => v.firstFrame)), request.timeoutMs, 'first frame at every viewer');
      return { type: 'done' };
    case 'measure':
      for (const viewer of viewers) viewer.measuring = request.on;
      if (request.on) {
        loopDelay.reset();
        loopDelay.enable();
      } else {
        loopDelay.disable();
      }
      return { type: 'done' };
    case 'collect':
      return {
        type: 'collected',
        // The histogram includes the 1 ms sampling interval itself; what is left is the lateness.
        loopDelayP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - 1),
        viewers: viewers.map((v) => ({
          kind: v.kind,
          tallies: [...v.tallies.entries()].map(([camera, t]) => [camera, { frames: t.frames, lost: t.lost, bytes: t.bytes }]),
          captureToClient: v.captureToClient,
          relayToClient: v.relayToClient,
          captureToRelay: v.captureToRelay,
          captureToDecoded: v.captureToDecoded,
          decodeMs: v.decodeMs,
          cameraToGrab: v.cameraToGrab,
          decodeSkipped: v.decodeSkipped,
          unstamped: v.unstamped,
        })),
      };
  }
}

process.on('message', (request: FleetRequest) => {
  handle(request).then(reply, (error: unknown) =>
    reply({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
});
// The bench closing the IPC channel (or dying) ends the fleet.
process.on('disconnect', () => {
  for (const viewer of viewers) viewer.close();
  process.exit(0);
});
