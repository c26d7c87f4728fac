/**
 * The one file that reaches past Aedes's typings. aedes 2.0.0-beta.1 (pinned in package.json)
 * lacks fixes the broker needs, and they can only be made at seams it does not declare: these
 * functions are those seams, typed narrowly; the rest of the broker imports only them.
 * broker/test/aedes-internals.test.ts pins each one against the installed Aedes (an upgrade that
 * moves one fails there, by name), and `missingAedesInternals` lists what is gone.
 *
 * - `createGatedAedes`: `Aedes#publish` is really (packet, client, done); every message, will and
 *   $SYS message goes through it, with the same packet object `authorizePublish` saw.
 * - `fixSessionLifecycle`: a client's `_cleanStart` and writable `clean`, and the persistence's
 *   `cleanIncoming` (aedes-persistence 11, forced by the root package.json's override).
 * - `overrideClientDelivery`: a client's `deliver0` / `deliverQoS` functions and `subscriptions` map.
 * - `refuseProtoBatches`: a client's packet parser (`_parser`), ahead of Aedes's own listener.
 * - `AEDES_LIFECYCLE_ERRORS`: the messages of the errors Aedes emits when a connection just ends.
 */
import { Aedes, type Client, type PublishPacket } from 'aedes';

/** What `createGatedAedes` does with a message: undefined drops it, else it publishes the packet returned. */
export type PublishGate = (packet: PublishPacket) => PublishPacket | undefined;

type PublishWithClient = (packet: PublishPacket, client: Client | null, done?: (error?: Error) => void) => void;

class GatedAedes extends Aedes {
  constructor(
    options: ConstructorParameters<typeof Aedes>[0],
    private readonly gate: PublishGate,
  ) {
    super(options);
  }

  override publish(packet: PublishPacket, clientOrDone: Client | null | ((error?: Error) => void), done?: (error?: Error) => void): void {
    const callback = typeof clientOrDone === 'function' ? clientOrDone : done;
    const passed = this.gate(packet);
    if (passed === undefined) {
      // The sender's QoS handshake completes as usual, but nothing is retained, queued, delivered or counted.
      if (callback) setImmediate(callback);
      return;
    }
    // Aedes's real signature is (packet, client, done); its typings only declare (packet, done).
    (Aedes.prototype.publish as unknown as PublishWithClient).call(
      this,
      passed,
      typeof clientOrDone === 'function' ? null : clientOrDone,
      callback,
    );
  }
}

/** An Aedes that hands every message to `gate` before its publish pipeline (retain, queues, delivery, `published`). */
export function createGatedAedes(options: ConstructorParameters<typeof Aedes>[0], gate: PublishGate): Aedes {
  return new GatedAedes(options, gate);
}

/** Aedes client fields the session fixes use. */
interface AedesSessionInternals {
  _cleanStart?: boolean;
  clean: boolean;
  broker: AedesPersistenceInternals;
}

interface AedesPersistenceInternals {
  persistence: { cleanIncoming?: (client: Client) => Promise<void> };
}

const sessionOf = (client: Client): AedesSessionInternals => client as unknown as AedesSessionInternals;

/**
 * Two session fixes aedes 2.0.0-beta.1 lacks (it forked before 1.2.0), on its public events.
 * `onError`: dropping a client's QoS 2 state failed (the persistence rejected).
 */
export function fixSessionLifecycle(aedes: Aedes, onError: (error: unknown, client: Client) => void): void {
  // [MQTT-3.1.2-4] / 3.1.1 [MQTT-3.1.2-6]: a session that ends also ends the client's unreleased
  // inbound QoS 2 packets, else the next session's first QoS 2 message with a reused packet id
  // is taken for a duplicate and dropped, and clients that vanish mid-handshake grow the store.
  if (typeof (aedes as unknown as AedesPersistenceInternals).persistence.cleanIncoming !== 'function')
    throw new Error('aedes-persistence without cleanIncoming: the root package.json override to 11.0.0 is missing');
  const cleanIncoming = (client: Client): void => {
    const { persistence } = sessionOf(client).broker;
    persistence.cleanIncoming!(client).catch((error: unknown) => onError(error, client));
  };
  aedes.on('clientReady', (client) => {
    if (sessionOf(client)._cleanStart ?? client.clean) cleanIncoming(client);
  });
  aedes.on('clientDisconnect', (client) => {
    if (client.version === 5 ? client.sessionExpiryInterval === 0 : client.clean) cleanIncoming(client);
  });
  // [MQTT-3.1.2-5]: a v5 resume (Clean Start 0) asking Session Expiry 0 still gets its queued
  // messages; the beta derives `clean` from the new expiry and its queue flush, which runs right
  // after this event, drops them. The session still ends on disconnect (sessionExpiryInterval 0).
  aedes.on('connackSent', (_packet, client) => {
    const session = sessionOf(client);
    if (client.version === 5 && session._cleanStart === false && session.clean) session.clean = false;
  });
}

/** A message on its way to one client. */
export interface DeliveredPacket {
  topic: string;
  qos: number;
  /** Set on messages routed through the broker (not on a retained message sent on SUBSCRIBE). */
  brokerId?: string;
  properties?: Record<string, unknown>;
}

export type Deliver = (packet: DeliveredPacket, done: () => void) => void;

/** One of a client's granted filters, as Aedes keeps it. */
export interface SubscriptionEntry {
  qos: number;
  /** MQTT 5 Subscription Identifier of the filter, if the SUBSCRIBE had one. */
  si?: number;
}

/** Aedes's own delivery functions for a client. */
export interface AedesDelivery {
  /** Sends at QoS 0 whatever the packet says. */
  atQoS0: Deliver;
  /** Sends at the packet's QoS, capped by the client's entry for the filter equal to the topic, if any. */
  atQoS: Deliver;
}

/** What replaces a client's delivery (see overrideClientDelivery). */
export interface DeliveryOverride {
  /** Every filter and the retained-message path deliver through this. */
  deliver: Deliver;
  /** A SUBSCRIBE or UNSUBSCRIBE changed the filters. */
  filtersChanged: () => void;
  /** What Aedes reads as the entry of `filter`: its QoS>0 path caps a message's QoS at that entry's. */
  entryAsRead: (filter: string, entry: SubscriptionEntry) => SubscriptionEntry;
}

/** The parts of an Aedes 2.0.0-beta.1 client `overrideClientDelivery` relies on. */
interface AedesDeliveryInternals {
  deliver0: Deliver;
  deliverQoS: Deliver;
  /** The client's granted filters, keyed by filter. */
  subscriptions: Record<string, SubscriptionEntry>;
}

/**
 * Routes every delivery to `client` through what `make` returns, given the client's filters (a map
 * without a prototype: the beta's has one, and there a client subscribing to the filter `__proto__`
 * found Object.prototype "already subscribed" and crashed the process in mqemitter) and Aedes's own
 * delivery functions. Call right after Aedes creates the client, before its CONNECT is handled: a
 * persistent session's filters are restored during CONNECT, and each keeps the delivery function
 * it was registered with.
 */
export function overrideClientDelivery(
  client: Client,
  make: (filters: Readonly<Record<string, SubscriptionEntry>>, aedes: AedesDelivery) => DeliveryOverride,
): void {
  const internals = client as unknown as AedesDeliveryInternals;
  const filters: Record<string, SubscriptionEntry> = Object.assign(
    Object.create(null) as Record<string, SubscriptionEntry>,
    internals.subscriptions,
  );
  const override = make(filters, { atQoS0: internals.deliver0, atQoS: internals.deliverQoS });
  // Every write to the map is a SUBSCRIBE or UNSUBSCRIBE; reads of absent keys stay undefined, as Aedes expects.
  internals.subscriptions = new Proxy(filters, {
    set(target, key, value: SubscriptionEntry) {
      override.filtersChanged();
      return Reflect.set(target, key, value);
    },
    deleteProperty(target, key) {
      override.filtersChanged();
      return Reflect.deleteProperty(target, key);
    },
    get(target, key) {
      const entry = Reflect.get(target, key) as SubscriptionEntry | undefined;
      if (typeof key !== 'string' || entry === undefined) return entry;
      return override.entryAsRead(key, entry);
    },
  });
  internals.deliver0 = override.deliver;
  internals.deliverQoS = override.deliver;
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

/** Aedes's error when a connection sent no CONNECT within `connectTimeout`. */
export const AEDES_CONNECT_TIMEOUT = 'connect did not arrive in time';

/** Messages of the errors Aedes emits for a connection's normal end rather than a client's fault. */
export const AEDES_LIFECYCLE_ERRORS: ReadonlySet<string> = new Set([
  'keep alive timeout',
  AEDES_CONNECT_TIMEOUT,
  'drain timeout',
  'connection closed',
]);

/** The internals above that `client` (one Aedes made) or its broker lack, by name; empty when all are there. */
export function missingAedesInternals(client: Client): string[] {
  const fields = client as unknown as Partial<AedesDeliveryInternals & AedesParserInternals & AedesSessionInternals>;
  const missing: string[] = [];
  if (typeof fields.deliver0 !== 'function') missing.push('client.deliver0');
  if (typeof fields.deliverQoS !== 'function') missing.push('client.deliverQoS');
  if (typeof fields.subscriptions !== 'object') missing.push('client.subscriptions');
  if (typeof fields._parser?.prependListener !== 'function') missing.push('client._parser');
  if (typeof fields.broker?.persistence.cleanIncoming !== 'function') missing.push('persistence.cleanIncoming');
  // Set while the CONNECT is handled; Aedes creates the client without it.
  if (client.connected && typeof fields._cleanStart !== 'boolean') missing.push('client._cleanStart');
  return missing;
}
