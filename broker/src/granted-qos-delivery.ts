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
 * The fix lives at the two seams Aedes gives per client (aedes-internals.ts, overrideClientDelivery):
 * its two delivery functions, which every filter and the retained-message path call through, and
 * its map of the client's subscriptions, which the QoS>0 path reads for that cap.
 * broker/test/conformance.test.ts pins the behaviour, broker/test/aedes-internals.test.ts the seams.
 *
 * An MQTT 5 gap of the beta is closed at the same seams (pinned by broker/test/mqtt5-*.test.ts):
 * the one copy sent for overlapping filters carries the Subscription Identifiers of all of them
 * [MQTT-3.3.4-4]; the beta echoes only the one of the filter it went through (#828, #1090).
 */
import type { Client } from 'aedes';
import {
  overrideClientDelivery,
  type AedesDelivery,
  type Deliver,
  type DeliveryOverride,
  type SubscriptionEntry,
} from './aedes-internals.js';
import { filterMatches } from './topic-filter.js';

/** Matching results per topic, for clients with many filters; dropped whenever the filters change. */
const MAX_CACHED_TOPICS = 256;

export class GrantedQoS {
  private readonly cache = new Map<string, number>();
  private readonly idCache = new Map<string, number[]>();

  constructor(private readonly filters: Readonly<Record<string, SubscriptionEntry>>) {}

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

/** Makes `client` deliver at the highest granted QoS. Call right after Aedes creates the client (see overrideClientDelivery). */
export function deliverAtGrantedQoS(client: Client): void {
  overrideClientDelivery(client, grantedQoSDelivery);
}

/**
 * The delivery for a client with `filters`: one route for every filter, so whichever filter Aedes
 * calls first delivers at the right QoS, and its dedupe (one copy per message per client) drops
 * the calls of the other filters.
 */
export function grantedQoSDelivery(filters: Readonly<Record<string, SubscriptionEntry>>, aedes: AedesDelivery): DeliveryOverride {
  const granted = new GrantedQoS(filters);
  const deliver: Deliver = (packet, done) => {
    const highest = granted.highest(packet.topic);
    // No matching filter (a persistent session's queue after an unsubscribe): Aedes decides.
    if (highest < 0) {
      if (packet.qos > 0) aedes.atQoS(packet, done);
      else aedes.atQoS0(packet, done);
      return;
    }
    const qos = Math.min(packet.qos, highest);
    let out = packet;
    if (packet.brokerId !== undefined) {
      const ids = granted.identifiers(packet.topic);
      // Also for one: the copy may have come through a matching filter without an identifier.
      // A new properties object: Aedes shares one between the copies for all subscribers.
      if (ids.length > 0)
        out = { ...packet, properties: { ...packet.properties, subscriptionIdentifier: ids.length === 1 ? ids[0] : ids } };
    }
    if (qos === 0) {
      aedes.atQoS0(out, done);
      return;
    }
    // A copy: a persistent session's queued packet must keep the QoS it was stored with.
    aedes.atQoS(qos === out.qos ? out : { ...out, qos }, done);
  };
  return {
    deliver,
    // Cached matches go stale whenever the filters change.
    filtersChanged: () => granted.changed(),
    // For the QoS>0 path's cap: the QoS this module already chose, so the cap never lowers it.
    entryAsRead: (filter, entry) => {
      const highest = granted.highest(filter);
      return highest > entry.qos ? { ...entry, qos: highest } : entry;
    },
  };
}
