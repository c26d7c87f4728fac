/**
 * The publisher's side of the encoder in the capture helper: a FrameEncoding that sends each job
 * to the helper holding the frame and keeps the encoder state the helper reports back, so the
 * status reads it as it reads a local FrameEncoder's.
 */
import type { FrameMeta } from '@camqtt/wire';
import type { EncodeOptions, Encoded, EncoderState, FrameEncoding } from '../frame-encoder.js';
import type { Grab } from '../sources/frame-source.js';
import type { EncodeJob, HelperReply, HelperRequest } from './capture-messages.js';

export class HelperFrameEncoder implements FrameEncoding {
  private current: EncoderState = { passthrough: false, warning: undefined, sizeWarning: undefined, encodeQuality: undefined };
  private resetPending = false;

  constructor(
    private readonly request: (request: HelperRequest) => Promise<HelperReply>,
    private readonly maxPayloadBytes: number,
    /** Prefixes a failure with which source it is. */
    private readonly failure: (why: string) => Error,
  ) {}

  get state(): EncoderState {
    return this.current;
  }

  reset(): void {
    // The helper hears of it with the next job; the status forgets the cap warning at once, as
    // FrameEncoder.reset() does.
    this.resetPending = true;
    this.current = { ...this.current, warning: undefined, encodeQuality: undefined };
  }

  async encode(_grab: Grab, options: EncodeOptions, meta: FrameMeta): Promise<Encoded | undefined> {
    return await this.run({ options, meta, maxPayloadBytes: this.maxPayloadBytes, resetEncoder: this.resetPending });
  }

  async encodeSnapshot(_grab: Grab, options: EncodeOptions, quality: number, meta: FrameMeta): Promise<Encoded | undefined> {
    return await this.run({
      options,
      meta,
      maxPayloadBytes: this.maxPayloadBytes,
      resetEncoder: this.resetPending,
      snapshotQuality: quality,
    });
  }

  private async run(job: EncodeJob): Promise<Encoded | undefined> {
    this.resetPending = false;
    const reply = await this.request({ type: 'encode', job });
    if (reply.type === 'failed') throw this.failure(reply.message);
    if (reply.type !== 'encoded') throw this.failure(`unexpected ${reply.type} from the capture helper`);
    this.current = reply.state;
    return reply.payload ? { payload: reply.payload, quality: reply.quality } : undefined;
  }
}
