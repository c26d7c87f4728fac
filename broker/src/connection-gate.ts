/**
 * Which new TCP connections the broker takes, decided at accept (before TLS, before any byte is
 * read), so that one address cannot lock everyone else out with idle connections:
 *
 * - a rate per address (a token bucket: `ratePerAddress` a second, bursts up to as many), as
 *   EMQX's max_conn_rate, but per address so a flood from one cannot starve the others;
 * - a cap on open connections per address;
 * - the overall cap (BROKER_MAX_CONNECTIONS). When it is reached, a connection that has not logged
 *   in yet is closed to make room (the oldest of the address holding the most of them), so the
 *   slots of logged-in clients stay theirs and a legitimate newcomer always gets a slot to log in
 *   on: unauthenticated connections only ever use slots that nobody logged in holds. Only when
 *   every slot is logged in is a newcomer refused.
 */
import { addressGroup } from '@camqtt/service-kit';
import type { Socket } from 'node:net';

export interface ConnectionGateOptions {
  maxConnections: number;
  maxPerAddress: number;
  /** New connections a second one address may open; 0: no limit. */
  ratePerAddress: number;
  now?: () => number;
}

export type GateRefusal = 'connection_rate' | 'address_limit' | 'connection_limit';

export type Admission = { admitted: true; evicted: { remoteAddress: string } | undefined } | { admitted: false; reason: GateRefusal };

interface Entry {
  socket: Socket;
  address: string;
  authenticated: boolean;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Addresses whose rate is remembered; a bucket left alone for a second is full again anyway. */
const MAX_BUCKETS = 10_000;

export class ConnectionGate {
  private readonly entries = new Map<Socket, Entry>();
  private readonly openPerAddress = new Map<string, number>();
  /** Connections not logged in yet, per address, oldest first. */
  private readonly pending = new Map<string, Set<Entry>>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(private readonly options: ConnectionGateOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Open connections now. */
  get size(): number {
    return this.entries.size;
  }

  /** Open connections not logged in yet. */
  get unauthenticated(): number {
    let count = 0;
    for (const set of this.pending.values()) count += set.size;
    return count;
  }

  sockets(): IterableIterator<Socket> {
    return this.entries.keys();
  }

  /** Takes `socket` in (tracked until it closes) or says why not; the caller closes a refused one. */
  admit(socket: Socket): Admission {
    const address = addressGroup(socket.remoteAddress ?? '');
    if (!this.takeToken(address)) return { admitted: false, reason: 'connection_rate' };
    if ((this.openPerAddress.get(address) ?? 0) >= this.options.maxPerAddress) return { admitted: false, reason: 'address_limit' };
    let evicted: { remoteAddress: string } | undefined;
    if (this.entries.size >= this.options.maxConnections) {
      const victim = this.oldestPendingOfBusiestAddress();
      if (!victim) return { admitted: false, reason: 'connection_limit' };
      this.forget(victim);
      victim.socket.destroy();
      evicted = { remoteAddress: victim.address };
    }
    const entry: Entry = { socket, address, authenticated: false };
    this.entries.set(socket, entry);
    this.openPerAddress.set(address, (this.openPerAddress.get(address) ?? 0) + 1);
    const pending = this.pending.get(address) ?? new Set<Entry>();
    pending.add(entry);
    this.pending.set(address, pending);
    socket.once('close', () => this.forget(entry));
    return { admitted: true, evicted };
  }

  /** The connection has logged in: it is no longer the first to go when the broker is full. */
  authenticated(socket: Socket): void {
    const entry = this.entries.get(socket);
    if (!entry || entry.authenticated) return;
    entry.authenticated = true;
    this.removePending(entry);
  }

  private forget(entry: Entry): void {
    if (this.entries.get(entry.socket) !== entry) return;
    this.entries.delete(entry.socket);
    const open = (this.openPerAddress.get(entry.address) ?? 1) - 1;
    if (open > 0) this.openPerAddress.set(entry.address, open);
    else this.openPerAddress.delete(entry.address);
    this.removePending(entry);
  }

  private removePending(entry: Entry): void {
    const set = this.pending.get(entry.address);
    if (!set) return;
    set.delete(entry);
    if (set.size === 0) this.pending.delete(entry.address);
  }

  private oldestPendingOfBusiestAddress(): Entry | undefined {
    let busiest: Set<Entry> | undefined;
    for (const set of this.pending.values()) if (!busiest || set.size > busiest.size) busiest = set;
    return busiest?.values().next().value;
  }

  private takeToken(address: string): boolean {
    const rate = this.options.ratePerAddress;
    if (rate === 0) return true;
    const now = this.now();
    const bucket = this.buckets.get(address) ?? { tokens: rate, at: now };
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    // Re-inserted, so the first key is the one left alone longest.
    this.buckets.delete(address);
    this.buckets.set(address, bucket);
    if (this.buckets.size > MAX_BUCKETS) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
