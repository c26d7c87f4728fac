/**
 * Who is logged in on which connection and client id, for rules Aedes lacks:
 *
 * - Client-id takeover. MQTT lets a new connection with a client id in use close the old one
 *   [MQTT-3.1.4-2], and Aedes does so for anyone. Here only the same account may: a client id held
 *   by a connection of another account is refused (CONNACK 0x02), and `camqtt-pub-<camera>` (the
 *   publisher's id) belongs to the account named `<camera>` alone, connected or not, so no other
 *   account can kick a camera off or fire its last will.
 * - Revocation. When an account is removed or its password changes, its connections are closed,
 *   as Mosquitto does on a password-file reload.
 *
 * `claim` must run in the same tick as the login's success is reported to Aedes: Aedes registers
 * the client id only after more asynchronous steps, so two logins racing for one id are told
 * apart here, not by `aedes.clients`.
 */
import type { Client } from 'aedes';
import { CAMERA_CLIENT_ID_PREFIX } from '@camqtt/wire';

export class ClientSessions {
  /** Client id -> the logged-in connection holding it (the newest one, after a same-account takeover). */
  private readonly holders = new Map<string, Client>();
  /** Every logged-in connection still open, with its account (undefined: anonymous). */
  private readonly accounts = new Map<Client, string | undefined>();

  /** Why `username` may not use `clientId`, or undefined if it may. */
  refusal(clientId: string, username: string | undefined): string | undefined {
    if (clientId.startsWith(CAMERA_CLIENT_ID_PREFIX) && username !== clientId.slice(CAMERA_CLIENT_ID_PREFIX.length)) {
      return `client id ${clientId} is reserved for account ${clientId.slice(CAMERA_CLIENT_ID_PREFIX.length)}`;
    }
    const holder = this.holders.get(clientId);
    if (holder && !holder.closed && this.accounts.get(holder) !== username) return `client id ${clientId} is in use by another account`;
    return undefined;
  }

  /** Checks and records a login in one step: undefined if it holds the id now, else why not. */
  claim(client: Client, username: string | undefined): string | undefined {
    const refusal = this.refusal(client.id, username);
    if (refusal !== undefined || client.closed || client.conn.destroyed) return refusal;
    this.holders.set(client.id, client);
    this.accounts.set(client, username);
    client.conn.once('close', () => {
      this.accounts.delete(client);
      if (this.holders.get(client.id) === client) this.holders.delete(client.id);
    });
    return undefined;
  }

  /** Open logged-in connections (for tests and metrics). */
  get size(): number {
    return this.accounts.size;
  }

  /** Closes every connection logged in as one of `usernames`; returns the closed ones with their account. */
  disconnect(usernames: ReadonlySet<string>): Array<{ client: Client; username: string }> {
    const closed: Array<{ client: Client; username: string }> = [];
    for (const [client, username] of this.accounts) {
      if (username === undefined || !usernames.has(username)) continue;
      this.accounts.delete(client);
      client.close();
      closed.push({ client, username });
    }
    return closed;
  }
}
