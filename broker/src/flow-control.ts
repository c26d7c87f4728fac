/**
 * QoS 1/2 flow control in both directions, which aedes 2.0.0-beta.1 does not enforce. It works on
 * the raw bytes ClientConnection passes (already framed by its size check), so it covers
 * live delivery, retained messages and the offline queue alike, and never makes Aedes wait.
 *
 * - Out: the broker must not have more than the client's Receive Maximum QoS 1/2 PUBLISH packets
 *   unacknowledged [MQTT-3.3.4-9]; the beta stores the value but never applies it (upstream #829).
 *   QoS 1/2 PUBLISH frames are held while the window is full; each PUBACK, PUBCOMP, or PUBREC
 *   with a reason code >= 0x80 frees a slot. Held bytes count toward the client's backlog, so the
 *   slow-client limit still ends a client that never acknowledges.
 * - In: a client sending QoS 2 PUBLISH packets and never their PUBREL makes Aedes keep each one
 *   (Aedes 1.2's maxInflightInbound, which the beta lacks). Over `maxInboundQoS2` unreleased ones
 *   the connection is refused (for MQTT 5 with DISCONNECT 0x93, Receive Maximum exceeded).
 *
 * QoS 0 frames may overtake held QoS 1/2 ones: MQTT orders messages per topic and QoS (4.6).
 * Only MQTT 5 frames are ever held (3.x has no Receive Maximum), so held ones can be aged.
 */
import { ageFrame } from './message-expiry.js';

const PUBLISH = 3;
const PUBACK = 4;
const PUBREC = 5;
const PUBREL = 6;
const PUBCOMP = 7;

type Frame = { chunks: Buffer[]; bytes: number; heldAt: number };

/** Incremental fixed-header reader: first byte, then the remaining length, then the body. */
class Framer {
  state: 'type' | 'length' | 'body' = 'type';
  first = 0;
  length = 0;
  private multiplier = 1;
  /** Body bytes still to come, and body bytes seen so far. */
  left = 0;
  seen = 0;

  /** Reads header bytes at `i`; returns the new position. `done` tells whether a packet just ended. */
  header(chunk: Buffer, i: number): number {
    if (this.state === 'type') {
      this.first = chunk[i]!;
      this.length = 0;
      this.multiplier = 1;
      this.state = 'length';
      return i + 1;
    }
    const byte = chunk[i]!;
    this.length += (byte & 0x7f) * this.multiplier;
    this.multiplier *= 128;
    if (!(byte & 0x80)) {
      this.left = this.length;
      this.seen = 0;
      this.state = 'body';
    }
    return i + 1;
  }

  /** True, once, when the current packet's last byte was read; the framer then expects the next packet. */
  finished(): boolean {
    if (this.state !== 'body' || this.left > 0) return false;
    this.state = 'type';
    return true;
  }

  get type(): number {
    return this.first >> 4;
  }

  get qos(): number {
    return (this.first >> 1) & 3;
  }
}

export interface FlowControlOptions {
  /** The client's Receive Maximum once known (Infinity for MQTT 3.x or before CONNECT). */
  receiveMaximum: () => number;
  /** Sends one complete frame to the socket. */
  send: (chunks: Buffer[]) => void;
  /** Unreleased inbound QoS 2 PUBLISH packets at which `onInboundOverflow` is called. */
  maxInboundQoS2: number;
  onInboundOverflow: () => void;
}

export class FlowControl {
  private inflight = 0;
  private inboundQoS2 = 0;
  private readonly held: Frame[] = [];
  /** Bytes of frames held back. */
  heldBytes = 0;
  private readonly input = new Framer();
  private readonly output = new Framer();
  private reasonCode = 0;
  private pending: Buffer[] = [];

  constructor(private readonly options: FlowControlOptions) {}

  /** Bytes received from the client, in order, as passed on to Aedes. */
  received(chunk: Buffer): void {
    const input = this.input;
    for (let i = 0; i < chunk.length;) {
      if (input.state !== 'body') {
        i = input.header(chunk, i);
        this.reasonCode = 0;
      } else {
        // Only a PUBREC's reason code (third body byte) is read; other bodies are skipped whole.
        if (input.type === PUBREC && input.seen === 2) this.reasonCode = chunk[i]!;
        const step = input.type === PUBREC && input.seen < 3 ? 1 : Math.min(input.left, chunk.length - i);
        i += step;
        input.seen += step;
        input.left -= step;
      }
      if (input.finished()) this.receivedPacket(input.type, input.first);
    }
  }

  private receivedPacket(type: number, first: number): void {
    if (type === PUBLISH && this.input.qos === 2 && !(first & 0x08)) {
      if (++this.inboundQoS2 > this.options.maxInboundQoS2) this.options.onInboundOverflow();
    } else if (type === PUBREL) {
      // A PUBREL for a packet of an earlier connection of the session gives no credit.
      if (this.inboundQoS2 > 0) this.inboundQoS2--;
    } else if (type === PUBACK || type === PUBCOMP || (type === PUBREC && this.reasonCode >= 0x80)) {
      if (this.inflight > 0) this.inflight--;
      while (this.held.length > 0 && this.inflight < this.options.receiveMaximum()) {
        const frame = this.held.shift()!;
        this.heldBytes -= frame.bytes;
        const chunks = this.aged(frame);
        if (!chunks) continue;
        this.inflight++;
        this.options.send(chunks);
      }
    }
  }

  /** Bytes Aedes wrote; complete frames go to `send` now, or once the window has room. */
  write(chunk: Buffer): void {
    const output = this.output;
    let start = 0;
    for (let i = 0; i < chunk.length;) {
      if (output.state !== 'body') {
        i = output.header(chunk, i);
      } else {
        const step = Math.min(output.left, chunk.length - i);
        i += step;
        output.left -= step;
      }
      if (output.finished()) {
        this.pending.push(chunk.subarray(start, i));
        start = i;
        this.frameDone(this.pending);
        this.pending = [];
      }
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
  }

  /** A held frame as it may leave now (see message-expiry.ts); undefined: expired, dropped. */
  private aged(frame: Frame): Buffer[] | undefined {
    const waitedMs = Date.now() - frame.heldAt;
    // Under a second nothing can have expired (intervals are whole seconds, at least 1).
    if (waitedMs < 1000) return frame.chunks;
    const aged = ageFrame(Buffer.concat(frame.chunks), waitedMs);
    return aged && [aged];
  }

  private frameDone(chunks: Buffer[]): void {
    if (this.output.type === PUBLISH && this.output.qos > 0) {
      if (this.inflight >= this.options.receiveMaximum()) {
        const bytes = chunks.reduce((sum, c) => sum + c.length, 0);
        this.heldBytes += bytes;
        this.held.push({ chunks, bytes, heldAt: Date.now() });
        return;
      }
      this.inflight++;
    }
    this.options.send(chunks);
  }
}
