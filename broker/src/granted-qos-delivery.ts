/**
 * Delivers every message at the QoS MQTT 3.1.1 asks for: the lower of the published QoS and the
 * highest QoS granted among all of the client's filters that match the topic ([MQTT-3.3.5-1],
 * [MQTT-3.8.4-6]).
 *
 * Aedes (1.2 and 2.0.0-beta.1) gets this wrong when a client's filters overlap (aedes#1074, open): it registers one
 * delivery function per filter, delivers the message once through whichever its matcher calls
 * first (a QoS 0 filter sends it at QoS 0 even if a QoS 1 filter matches too), and then caps the
 * QoS at the filter equal to the topic, if any. A wildcard filter also never lowers the QoS of a
 * retained message sent on SUBSCRIBE.
 *
 * The fix lives at the two seams Aedes gives per client: its two delivery functions, which every
 * filter and the retained-message path call through, and its map of the client's subscriptions,
 * which the QoS>0 path reads for that cap. Both are Aedes internals (not in its typings), so
 * `AedesDeliveryInternals` names exactly what is used, and broker/test/conformance.test.ts pins the
 * behaviour: an Aedes update that changes them fails there.
 *
 * Two MQTT 5 gaps of the beta are closed at the same seams (pinned by broker/test/mqtt5-*.test.ts):
 * - The one copy sent for overlapping filters carries the Subscription Identifiers of all of them
 *   [MQTT-3.3.4-4]; the beta echoes only the one of the filter it went through (#828, #1090).
 * - The filter map has no prototype: the beta forked before 1.2 made it so, and there a client
 *   subscribing to the filter `__proto__` found Object.prototype "already subscribed" and crashed
 *   the process (an uncaught assert in mqemitter).
 */
import type { Client } from 'aedes';
import { filterMatches } from './topic-filter.js';

type Deliver = (packet: DeliveredPacket, done: () => void) => void;

interface DeliveredPacket {
  topic: string;
  qos: number;
  /** Set on messages routed through the broker (not on a retained message sent on SUBSCRIBE). */
  brokerId?: string;
  properties?: Record<string, unknown>;
}

interface SubscriptionEntry {
  qos: number;
  /** MQTT 5 Subscription Identifier of the filter, if the SUBSCRIBE had one. */
  si?: number;
}

/** The parts of an Aedes 2.0.0-beta.1 client this module relies on. */
interface AedesDeliveryInternals {
  /** Sends at QoS 0 whatever the packet says. */
  deliver0: Deliver;
  /** Sends at the packet's QoS, capped by `subscriptions[packet.topic]` when that key exists. */
  deliverQoS: Deliver;
  /** The client's granted filters, keyed by filter. */
  subscriptions: Record<string, SubscriptionEntry>;
}

/** Matching results per topic, for clients with many filters; dropped whenever the filters change. */
const MAX_CACHED_TOPICS = 256;

class GrantedQoS {
  private readonly cache = new Map<string, number>();
  private readonly idCache = new Map<string, number[]>();

  constructor(private readonly filters: Record<string, SubscriptionEntry>) {}

  /** Subscription Identifiers of every filter matching `topic` (cached like `highest`: this runs per message). */
  identifiers(topic: string): number[] {
    const cached = this.idCache.get(topic);
    if (cached !== undefined) return cached;
    const ids: number[] = [];
    for (const filter in this.filters) {
      const si = this.filters[filter]!.si;
      if (si !== undefined && filterMatches(filter, topic)) ids.push(si);
    }
    if (this.idCache.size >= MAX_CACHED_TOPICS) this.idCache.clear();
    this.idCache.set(topic, ids);
    return ids;
  }

  /** Highest QoS granted by the filters matching `topic`; -1 when none matches. */
  highest(topic: string): number {
    const cached = this.cache.get(topic);
    if (cached !== undefined) return cached;
    let highest = -1;
    for (const filter in this.filters) {
      const qos = this.filters[filter]!.qos;
      if (qos > highest && filterMatches(filter, topic)) highest = qos;
    }
    if (this.cache.size >= MAX_CACHED_TOPICS) this.cache.clear();
    this.cache.set(topic, highest);
    return highest;
  }

  changed(): void {
    this.cache.clear();
    this.idCache.clear();
  }
}

/**
 * Makes `client` deliver at the highest granted QoS. Call right after Aedes creates the client,
 * before its CONNECT is handled (a persistent session's filters are restored during CONNECT, and
 * each filter keeps the delivery function it was registered with).
 */
export function deliverAtGrantedQoS(client: Client): void {
  const internals = client as unknown as AedesDeliveryInternals;
  const sendAtQoS0 = internals.deliver0;
  const sendAtQoS = internals.deliverQoS;
  const filters: Record<string, SubscriptionEntry> = Object.assign(
    Object.create(null) as Record<string, SubscriptionEntry>,
    internals.subscriptions,
  );
  const granted = new GrantedQoS(filters);

  // Every write to the filter map is a SUBSCRIBE or UNSUBSCRIBE: that is when cached matches go stale.
  // For the QoS>0 path's cap, a read of an existing key answers with the QoS this module already
  // chose, so the cap never lowers it; reads of absent keys stay undefined, as Aedes expects.
  internals.subscriptions = new Proxy(filters, {
    set(target, key, value: SubscriptionEntry) {
      granted.changed();
      return Reflect.set(target, key, value);
    },
    deleteProperty(target, key) {
      granted.changed();
      return Reflect.deleteProperty(target, key);
    },
    get(target, key) {
      const entry = Reflect.get(target, key) as SubscriptionEntry | undefined;
      if (typeof key !== 'string' || entry === undefined) return entry;
      const highest = granted.highest(key);
      return highest > entry.qos ? { ...entry, qos: highest } : entry;
    },
  });

  // One route for every filter: whichever filter Aedes calls first delivers at the right QoS, and
  // its dedupe (one copy per message per client) drops the calls of the other filters.
  const deliver: Deliver = (packet, done) => {
    const highest = granted.highest(packet.topic);
    // No matching filter (a persistent session's queue after an unsubscribe): Aedes decides.
    if (highest < 0) return packet.qos > 0 ? sendAtQoS(packet, done) : sendAtQoS0(packet, done);
    const qos = Math.min(packet.qos, highest);
    let out = packet;
    if (packet.brokerId !== undefined) {
      const ids = granted.identifiers(packet.topic);
      // Also for one: the copy may have come through a matching filter without an identifier.
      // A new properties object: Aedes shares one between the copies for all subscribers.
      if (ids.length > 0)
        out = { ...packet, properties: { ...packet.properties, subscriptionIdentifier: ids.length === 1 ? ids[0] : ids } };
    }
    if (qos === 0) return sendAtQoS0(out, done);
    // A copy: a persistent session's queued packet must keep the QoS it was stored with.
    sendAtQoS(qos === out.qos ? out : { ...out, qos }, done);
  };
  internals.deliver0 = deliver;
  internals.deliverQoS = deliver;
}

/** The part of an Aedes client's packet parser `refuseProtoBatches` uses. */
interface AedesParserInternals {
  _parser: {
    prependListener: (event: 'packet', listener: (packet: { cmd: string; subscriptions?: Array<{ topic: string }> }) => void) => void;
  };
}

/**
 * aedes 2.0.0-beta.1 dedupes the filters of a SUBSCRIBE with more than one into a plain object
 * keyed by filter: a `__proto__` filter there replaces the object's prototype, the list turns into
 * garbage and the broker process crashes. Such a SUBSCRIBE (only `__proto__` alone is safe) loses
 * that filter before Aedes sees it, and `refuse` ends the connection, so no partial SUBACK goes out.
 */
export function refuseProtoBatches(client: Client, refuse: () => void): void {
  (client as unknown as AedesParserInternals)._parser.prependListener('packet', (packet) => {
    const filters = packet.subscriptions;
    if (packet.cmd !== 'subscribe' || !filters || filters.length < 2 || !filters.some((s) => s.topic === '__proto__')) return;
    packet.subscriptions = filters.filter((s) => s.topic !== '__proto__');
    refuse();
  });
}
