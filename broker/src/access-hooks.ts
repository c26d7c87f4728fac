/**
 * The Aedes hooks that enforce accounts and access rules, as small named steps, plus the two
 * cheap hooks that count messages for the metrics.
 *
 * A refused PUBLISH: Aedes 1.x has no way to drop a message and keep the connection. Whatever
 * `authorizePublish` passes as an error is emitted as `clientError` and the connection is closed
 * (docs/Aedes.md, "Handler: authorizePublish"; lib/handlers/publish.js), which MQTT 3.1.1 allows
 * [MQTT-3.3.5-2]. The message is never delivered or retained.
 */
import type { AedesOptions, AedesPublishPacket, AuthenticateError, AuthErrorCode, Client, PublishPacket, Subscription } from 'aedes';
import type { Logger } from 'pino';
import type { AclIdentity } from './acl.js';
import type { AccountStore, AclStore } from './accounts.js';
import type { BrokerMetrics } from './metrics.js';
import { PacketSizeGuard } from './packet-size-guard.js';

/** CONNACK return codes (MQTT 3.1.1 table 3.1); Aedes declares them as an ambient const enum. */
const BAD_USERNAME_OR_PASSWORD = 4 as AuthErrorCode;
const NOT_AUTHORIZED = 5 as AuthErrorCode;

/** Our refusals, so the client-error log can tell them from protocol errors it must report. */
export class LoginRefusedError extends Error implements AuthenticateError {
  override name = 'LoginRefusedError';
  constructor(message: string, readonly returnCode: AuthErrorCode) {
    super(message);
  }
}

export class PublishRefusedError extends Error {
  override name = 'PublishRefusedError';
}

export interface AccessHookDeps {
  accounts: AccountStore;
  acl: AclStore;
  allowAnonymous: boolean;
  metrics: BrokerMetrics;
  log: Logger;
}

export type AccessHooks = Required<Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward' | 'published'>>;

export function remoteAddressOf(client: Client): string | undefined {
  return client.conn instanceof PacketSizeGuard ? client.conn.remoteAddress : undefined;
}

function payloadBytes(payload: Buffer | string): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
}

type LoginVerdict = { ok: true; username: string | undefined } | { ok: false; error: LoginRefusedError; reason: 'anonymous' | 'bad_credentials' };

export function createAccessHooks(deps: AccessHookDeps): AccessHooks {
  const { accounts, acl, allowAnonymous, metrics, log } = deps;
  /** Who each authenticated client is; a client missing here has not logged in and gets nothing. */
  const identities = new WeakMap<Client, AclIdentity>();

  async function checkLogin(username: string | undefined, password: Buffer | undefined): Promise<LoginVerdict> {
    if (username === undefined || username === '') {
      if (allowAnonymous) return { ok: true, username: undefined };
      return { ok: false, reason: 'anonymous', error: new LoginRefusedError('anonymous clients are not allowed', NOT_AUTHORIZED) };
    }
    if (password !== undefined && (await accounts.verify(username, password.toString('utf8')))) return { ok: true, username };
    return { ok: false, reason: 'bad_credentials', error: new LoginRefusedError('bad username or password', BAD_USERNAME_OR_PASSWORD) };
  }

  function recordLogin(client: Client, verdict: LoginVerdict, username: string | undefined): void {
    const who = { username, clientId: client.id, remoteAddress: remoteAddressOf(client) };
    if (verdict.ok) {
      identities.set(client, { username: verdict.username, clientId: client.id });
      log.debug(who, 'login');
      return;
    }
    metrics.refusedLogins.inc({ reason: verdict.reason });
    log.warn({ ...who, reason: verdict.error.message }, 'login refused');
  }

  const authenticate: AccessHooks['authenticate'] = function authenticate(client, username, password, done) {
    checkLogin(username, password).then(
      (verdict) => {
        recordLogin(client, verdict, username);
        if (verdict.ok) done(null, true);
        else done(verdict.error, false);
      },
      (error: unknown) => {
        log.error({ err: error, username, clientId: client.id }, 'login check failed');
        done(new LoginRefusedError('server error while checking the password', 3 as AuthErrorCode), false);
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
    log.warn({ username: identity?.username, clientId: client?.id, topic: packet.topic, remoteAddress: client ? remoteAddressOf(client) : undefined }, 'publish refused');
    done(new PublishRefusedError(`not allowed to publish to ${packet.topic}`));
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
    metrics.messagesSent.inc();
    metrics.payloadBytesSent.inc(payloadBytes(packet.payload));
    return packet;
  };

  const published: AccessHooks['published'] = function countPublished(packet, client, done) {
    // client is null for the broker's own $SYS messages.
    if (client) {
      metrics.messagesReceived.inc();
      metrics.payloadBytesReceived.inc(payloadBytes(packet.payload));
    }
    done(null);
  };

  return { authenticate, authorizePublish, authorizeSubscribe, authorizeForward, published };
}
