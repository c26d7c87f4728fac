/**
 * The Aedes hooks that enforce accounts and access rules, as small named steps, plus the two
 * cheap hooks that count messages for the metrics.
 *
 * A refused PUBLISH is never delivered or retained, and the connection stays up. MQTT 5 has a
 * reason code for it: an `authorizePublish` error makes Aedes answer PUBACK/PUBREC 0x87 and drop
 * the message. MQTT 3.1.1 has none, and there Aedes closes the connection on any
 * `authorizePublish` error (lib/handlers/publish.js), so it is dropped the way Mosquitto drops it:
 * acknowledged as usual (PUBACK, or PUBREC/PUBCOMP). For that the hook
 * lets the packet through and marks it in `refusedPublishes`; `MqttBroker`'s publish gate
 * (aedes-internals.ts) skips the whole publish pipeline (retain store, offline queues, delivery, `published`) for a marked packet.
 * Aedes hands the same packet object to `authorizePublish` and then `broker.publish`, also for
 * a will, which makes the mark reliable.
 */
import type { AedesOptions, AedesPublishPacket, Client, ConnectPacket, PublishPacket, Subscription } from 'aedes';
import type { Logger } from 'pino';
import type { AclIdentity } from './acl.js';
import type { AccountStore, AclStore } from './accounts.js';
import type { FailureOutcome, LoginThrottle } from '@camqtt/service-kit';
import type { ClientSessions } from './client-sessions.js';
import { PerKeyRateLimit } from '@camqtt/service-kit';
import type { BrokerMetrics } from './metrics.js';
import { QUOTA_EXCEEDED } from './broker-replies.js';
import {
  BAD_USERNAME_OR_PASSWORD,
  IDENTIFIER_REJECTED,
  LoginRefusedError,
  NOT_AUTHORIZED,
  PublishRefusedError,
  SERVER_UNAVAILABLE,
} from './refusals.js';
import { connectionOf, remoteAddressOf } from './client-connection.js';
import { fitsClientMaximum } from './publish-size.js';

/** Refusals an attacker can cause at will are logged once per reason per 10 s. */
const REFUSAL_LOG_WINDOW_MS = 10_000;

export interface AccessHookDeps {
  accounts: AccountStore;
  acl: AclStore;
  allowAnonymous: boolean;
  throttle: LoginThrottle;
  /** Who holds which client id; refuses takeovers across accounts. */
  sessions: ClientSessions;
  /** Above this many unsent bytes to a client, QoS 0 messages to it are dropped. */
  maxClientBacklogBytes: number;
  metrics: BrokerMetrics;
  log: Logger;
}

export type AccessHooks = Required<
  Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward' | 'published'>
> & {
  /** PUBLISH packets (and wills) the rules refused; `MqttBroker` must not publish them. */
  refusedPublishes: WeakSet<PublishPacket>;
};

function backlogOf(client: Client): number {
  return connectionOf(client)?.backlogBytes ?? 0;
}

function payloadBytes(payload: Buffer | string): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
}

type RefusalReason = 'anonymous' | 'bad_credentials' | 'throttled' | 'identifier_rejected' | 'client_id_taken';
type LoginVerdict =
  { ok: true; username: string | undefined } | { ok: false; error: LoginRefusedError; reason: RefusalReason; blocks?: FailureOutcome };

export function createAccessHooks(deps: AccessHookDeps): AccessHooks {
  const { accounts, acl, allowAnonymous, throttle, sessions, maxClientBacklogBytes, metrics, log } = deps;
  /** Who each authenticated client is; a client missing here has not logged in and gets nothing. */
  const identities = new WeakMap<Client, AclIdentity>();
  /** Clients whose CONNECT had an empty client id that MQTT says must be refused (see preConnect). */
  const emptyIdRefused = new WeakSet<Client>();
  /** Subscribers currently having QoS 0 messages dropped, with how many so far. */
  const dropping = new WeakMap<Client, number>();
  const refusedPublishes = new WeakSet<PublishPacket>();
  const unthrottledRefusals = new PerKeyRateLimit(REFUSAL_LOG_WINDOW_MS);

  async function checkLogin(client: Client, username: string | undefined, password: Buffer | undefined): Promise<LoginVerdict> {
    if (emptyIdRefused.has(client)) {
      return {
        ok: false,
        reason: 'identifier_rejected',
        error: new LoginRefusedError('a persistent session needs a client id', IDENTIFIER_REJECTED),
      };
    }
    if (username === undefined || username === '') {
      if (allowAnonymous) return { ok: true, username: undefined };
      return { ok: false, reason: 'anonymous', error: new LoginRefusedError('anonymous clients are not allowed', NOT_AUTHORIZED) };
    }
    // Counted before the password is checked, so parallel guesses cannot all get past a free slot.
    const throttled = throttle.begin(remoteAddressOf(client), username);
    if (throttled.blocked) {
      // Refused without looking at the password, so a guess made now tells the guesser nothing.
      const why = throttled.by === 'in_flight' ? 'too many logins in progress' : `too many failed logins for this ${throttled.by}`;
      return {
        ok: false,
        reason: 'throttled',
        error: new LoginRefusedError(`${why}; retry in ${Math.ceil(throttled.retryInMs / 1000)} s`, NOT_AUTHORIZED),
      };
    }
    let right: boolean;
    try {
      right = password !== undefined && (await accounts.verify(username, password.toString('utf8')));
    } catch (error) {
      throttled.attempt.abandoned();
      throw error;
    }
    if (right) {
      throttled.attempt.succeeded();
      return { ok: true, username };
    }
    const blocks = throttled.attempt.failed();
    return {
      ok: false,
      reason: 'bad_credentials',
      error: new LoginRefusedError('bad username or password', BAD_USERNAME_OR_PASSWORD),
      blocks,
    };
  }

  /** After the credentials: the client id must be free or this account's (see client-sessions.ts). */
  function claimClientId(client: Client, verdict: LoginVerdict): LoginVerdict {
    if (!verdict.ok) return verdict;
    const refusal = sessions.claim(client, verdict.username);
    if (refusal === undefined) return verdict;
    return { ok: false, reason: 'client_id_taken', error: new LoginRefusedError(refusal, IDENTIFIER_REJECTED) };
  }

  function recordLogin(client: Client, verdict: LoginVerdict, username: string | undefined): void {
    const remoteAddress = remoteAddressOf(client);
    const who = { username, clientId: client.id, remoteAddress };
    if (verdict.ok) {
      identities.set(client, { username: verdict.username, clientId: client.id });
      log.debug(who, 'login');
      return;
    }
    metrics.refusedLogins.inc({ reason: verdict.reason });
    if (verdict.reason === 'throttled') {
      // One line per block (below), not one per attempt: a guessing loop must not flood the log.
      log.debug({ ...who, reason: verdict.error.message }, 'login refused');
      return;
    }
    if (verdict.reason !== 'bad_credentials') {
      // No password was checked, so nothing throttles these: a line per reason per 10 s.
      const { allowed, suppressed: skipped } = unthrottledRefusals.take(verdict.reason);
      if (allowed) log.warn({ ...who, reason: verdict.error.message, sameLinesLeftOut: skipped }, 'login refused');
      return;
    }
    log.warn({ ...who, reason: verdict.error.message }, 'login refused');
    if (verdict.blocks?.addressBlockMs)
      log.warn({ remoteAddress, blockMs: verdict.blocks.addressBlockMs }, 'too many failed logins; address blocked');
    if (verdict.blocks?.userBlockMs)
      log.warn({ username, blockMs: verdict.blocks.userBlockMs }, 'too many failed logins; user blocked for addresses that failed');
  }

  const preConnect: AccessHooks['preConnect'] = function preConnect(client, packet: ConnectPacket, done) {
    // [MQTT-3.1.3-8]: an empty client id with CleanSession=0 gets CONNACK 0x02; Aedes would invent
    // an id instead. MQTT 3.1 (level 3) allows no empty id at all. authenticate() answers it.
    // MQTT 5 allows an empty id with any Clean Start: Aedes assigns one and reports it [MQTT-3.2.2-16].
    if (packet.clientId === '' && packet.protocolVersion !== 5 && (!packet.clean || packet.protocolVersion === 3))
      emptyIdRefused.add(client);
    done(null, true);
  };

  const authenticate: AccessHooks['authenticate'] = function authenticate(client, username, password, done) {
    checkLogin(client, username, password).then(
      (checked) => {
        // Claimed in this same tick as done() below, so a racing login for the id sees the claim.
        const verdict = claimClientId(client, checked);
        recordLogin(client, verdict, username);
        if (verdict.ok) {
          done(null, true);
          return;
        }
        // MQTT 5 has a reason code for a throttled login, which Aedes cannot send (see refuseConnect).
        if (verdict.reason === 'throttled' && client.version === 5) connectionOf(client)?.refuseConnect(QUOTA_EXCEEDED);
        done(verdict.error, false);
      },
      (error: unknown) => {
        log.error({ err: error, username, clientId: client.id }, 'login check failed');
        done(new LoginRefusedError('server error while checking the password', SERVER_UNAVAILABLE), false);
      },
    );
  };

  const authorizePublish: AccessHooks['authorizePublish'] = function authorizePublish(client, packet: PublishPacket, done) {
    const identity = client ? identities.get(client) : undefined;
    if (identity && acl.rules.canPublish(identity, packet.topic)) {
      done(null);
      return;
    }
    metrics.refusedPublishes.inc();
    log.warn(
      {
        username: identity?.username,
        clientId: client?.id,
        topic: packet.topic,
        remoteAddress: client ? remoteAddressOf(client) : undefined,
      },
      'publish refused',
    );
    // MQTT 5: Aedes answers PUBACK/PUBREC 0x87 (Not authorized) and drops it; a refused will is dropped too.
    if (client?.version === 5) {
      done(new PublishRefusedError(`not allowed to publish to ${packet.topic}`));
      return;
    }
    // MQTT 3.1.1: not an error, that would close the connection. The mark makes MqttBroker drop it.
    refusedPublishes.add(packet);
    done(null);
  };

  const authorizeSubscribe: AccessHooks['authorizeSubscribe'] = function authorizeSubscribe(client, subscription: Subscription, done) {
    const identity = identities.get(client);
    if (identity && acl.rules.canSubscribe(identity, subscription.topic)) {
      done(null, subscription);
      return;
    }
    metrics.refusedSubscribes.inc();
    log.warn({ username: identity?.username, clientId: client.id, filter: subscription.topic }, 'subscribe refused');
    // A null subscription makes Aedes answer SUBACK 0x80 for it and keep the connection.
    done(null, null);
  };

  const authorizeForward: AccessHooks['authorizeForward'] = function authorizeForward(client, packet: AedesPublishPacket) {
    const identity = identities.get(client);
    // Read access is checked per delivery: a deny rule or a reloaded ACL also covers old subscriptions.
    if (!identity || !acl.rules.canReceive(identity, packet.topic)) return null;
    // Null also makes Aedes drop a message as if delivered (live, retained and queued alike).
    if (!fitsClientMaximum(client, packet)) {
      metrics.droppedMessages.inc({ reason: 'client_maximum_packet_size' });
      return null;
    }
    if (!forwardWithinBacklog(client, packet)) return null;
    metrics.messagesSent.inc();
    metrics.payloadBytesSent.inc(payloadBytes(packet.payload));
    return packet;
  };

  /**
   * A subscriber that reads slower than messages arrive (or not at all) must not hold up the
   * others, nor make the broker buffer without bound: while its unsent bytes are over the limit,
   * QoS 0 messages to it are dropped, as Mosquitto and the web relay do. QoS 1/2 still go out; the
   * connection's hard limit (ClientConnection) disconnects a client whose backlog keeps growing.
   */
  function forwardWithinBacklog(client: Client, packet: AedesPublishPacket): boolean {
    const backlog = backlogOf(client);
    const dropped = dropping.get(client);
    if (packet.qos === 0 && backlog > maxClientBacklogBytes) {
      metrics.droppedMessages.inc({ reason: 'slow_subscriber' });
      if (dropped === undefined)
        log.warn(
          { clientId: client.id, remoteAddress: remoteAddressOf(client), backlogBytes: backlog },
          'subscriber backed up; dropping QoS 0 messages to it',
        );
      dropping.set(client, (dropped ?? 0) + 1);
      return false;
    }
    if (dropped !== undefined) {
      dropping.delete(client);
      log.info({ clientId: client.id, dropped }, 'subscriber caught up');
    }
    return true;
  }

  const published: AccessHooks['published'] = function countPublished(packet, client, done) {
    // client is null for the broker's own $SYS messages (Aedes's typings leave that out).
    if ((client as Client | null) !== null) {
      metrics.messagesReceived.inc();
      metrics.payloadBytesReceived.inc(payloadBytes(packet.payload));
    }
    done(null);
  };

  return { preConnect, authenticate, authorizePublish, authorizeSubscribe, authorizeForward, published, refusedPublishes };
}
