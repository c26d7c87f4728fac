/**
 * ConnectionGate's arithmetic on a hand-moved clock: the per-address token bucket, the per-address
 * cap, and which connection makes room when the broker is full. The real sockets and listeners
 * are covered by connection-limits.test.ts, limits.test.ts and hostile-crowd.test.ts.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { ConnectionGate, type ConnectionGateOptions } from '../src/connection-gate.js';

/** What the gate uses of a socket: its remote address, 'close', and destroy(). */
class StandInSocket extends EventEmitter {
  destroyed = false;
  constructor(readonly remoteAddress: string) {
    super();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('close');
  }
}

function gateAt(options: Partial<ConnectionGateOptions> = {}): {
  gate: ConnectionGate;
  clock: { now: number };
  open: (address: string) => { socket: StandInSocket; admitted: boolean; reason?: string; evicted?: string };
} {
  const clock = { now: 0 };
  const gate = new ConnectionGate({ maxConnections: 10, maxPerAddress: 4, ratePerAddress: 5, now: () => clock.now, ...options });
  const open = (address: string) => {
    const socket = new StandInSocket(address);
    const admission = gate.admit(socket as unknown as Socket);
    return admission.admitted
      ? { socket, admitted: true, evicted: admission.evicted?.remoteAddress }
      : { socket, admitted: false, reason: admission.reason };
  };
  return { gate, clock, open };
}

describe('connection gate', () => {
  it('lets an address open `rate` connections at once, then `rate` a second', () => {
    const { clock, open } = gateAt({ maxPerAddress: 100 });
    const burst = Array.from({ length: 8 }, () => open('10.0.0.1'));
    assert.deepEqual(
      burst.map((r) => r.admitted),
      [true, true, true, true, true, false, false, false],
    );
    assert.equal(burst[5]!.reason, 'connection_rate');
    assert.equal(open('10.0.0.2').admitted, true, 'other addresses have their own bucket');
    clock.now += 200; // one token back
    assert.deepEqual([open('10.0.0.1').admitted, open('10.0.0.1').admitted], [true, false]);
    clock.now += 10_000; // full again, but never more than `rate`
    assert.equal(Array.from({ length: 8 }, () => open('10.0.0.1')).filter((r) => r.admitted).length, 5);
  });

  it('caps open connections per address and frees a slot when one closes', () => {
    const { open } = gateAt({ ratePerAddress: 0 });
    const held = Array.from({ length: 4 }, () => open('10.0.0.1'));
    const over = open('10.0.0.1');
    assert.deepEqual([over.admitted, over.reason], [false, 'address_limit']);
    held[0]!.socket.destroy();
    assert.equal(open('10.0.0.1').admitted, true);
  });

  it('when full, closes the oldest unauthenticated connection of the address holding the most; never a logged-in one', () => {
    const { gate, open } = gateAt({ ratePerAddress: 0, maxConnections: 6 });
    const a = [open('10.0.0.1'), open('10.0.0.1')];
    const b = [open('10.0.0.2'), open('10.0.0.2'), open('10.0.0.2')];
    const c = open('10.0.0.3');
    gate.authenticated(c.socket as unknown as Socket);
    const newcomer = open('10.0.0.4');
    assert.deepEqual([newcomer.admitted, newcomer.evicted], [true, '10.0.0.2']);
    assert.equal(b[0]!.socket.destroyed, true, 'the oldest of the busiest address');
    assert.equal(b[1]!.socket.destroyed || a[0]!.socket.destroyed, false);
    // Log everyone in: then a newcomer is refused and nobody is closed for it.
    for (const r of [...a, ...b.slice(1), newcomer]) gate.authenticated(r.socket as unknown as Socket);
    assert.equal(gate.unauthenticated, 0);
    const refused = open('10.0.0.5');
    assert.deepEqual([refused.admitted, refused.reason], [false, 'connection_limit']);
    assert.equal(gate.size, 6);
  });
});
