/**
 * The floor of a real-source case, from the floors measured in the same bench (floors.ts): what
 * the frame's trip must cost on this machine with no camqtt code in it. The camera encodes at its
 * size; unless passed through, one decode at that size and one encode at the published size; one
 * MQTT hop (a bare round trip through the same broker: publish -> broker -> subscriber); and the
 * viewer's decode at the published size. The resize (1080p -> 720p) and the H.264 camera's own
 * encode and decode are not in it (JPEG costs at the same sizes stand in for the last two).
 */
import { sourceSize, type BenchCase } from './cases.js';
import type { CodecFloor, RoundTripFloor } from './floors.js';

export interface CaseFloor {
  ms: number;
  /** The sum spelled out, for the report. */
  parts: string;
}

export function realSourceFloor(benchCase: BenchCase, floors: { codec: CodecFloor[]; roundTrip: RoundTripFloor[] }): CaseFloor | undefined {
  const source = sourceSize(benchCase);
  const sourceKey = `${source.width}x${source.height}`;
  const outKey = `${benchCase.width}x${benchCase.height}`;
  const atSource = floors.codec.find((f) => f.size === sourceKey);
  const atOut = floors.codec.find((f) => f.size === outKey);
  const hop = floors.roundTrip.find((f) => f.broker === 'aedes' && f.size === outKey)?.roundTripMs.p50;
  if (!atSource || !atOut || hop === undefined) return undefined;
  const passedThrough = benchCase.passthrough !== false && sourceKey === outKey && benchCase.source !== 'rtsp-h264';
  // A file has no camera clock: its latency starts at the publisher's read, after the decode, so
  // its floor is the publisher's encode, the hop and the viewer's decode.
  if (benchCase.source === 'file') {
    const fileSteps: Array<[string, number]> = [
      [`encode ${outKey}`, atOut.encodeMs],
      ['MQTT hop', hop],
      [`viewer decode ${outKey}`, atOut.decodeMs],
    ];
    return {
      ms: fileSteps.reduce((sum, [, ms]) => sum + ms, 0),
      parts: fileSteps.map(([what, ms]) => `${what} ${ms.toFixed(1)}`).join(' + '),
    };
  }
  const steps: Array<[string, number]> = [
    [`camera encode ${sourceKey}`, atSource.encodeMs],
    ...(passedThrough
      ? []
      : ([
          [`decode ${sourceKey}`, atSource.decodeMs],
          [`encode ${outKey}`, atOut.encodeMs],
        ] as Array<[string, number]>)),
    ['MQTT hop', hop],
    [`viewer decode ${outKey}`, atOut.decodeMs],
  ];
  return {
    ms: steps.reduce((sum, [, ms]) => sum + ms, 0),
    parts: steps.map(([what, ms]) => `${what} ${ms.toFixed(1)}`).join(' + '),
  };
}
