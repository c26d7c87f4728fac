/**
 * A hostile client at a low steady rate: every few seconds either a login with a wrong password
 * or a malformed packet, on the broker's plain MQTT port. It comes from 127.0.0.2, not 127.0.0.1:
 * the login throttle blocks by address, and the stack's own clients must not share its blocks
 * (on a real network the attacker is elsewhere too).
 */
import net from 'node:net';
import { generate } from 'mqtt-packet';

const HOSTILE_ADDRESS = '127.0.0.2';
const GIVE_UP_MS = 5000;

export interface HostileTally {
  badLogins: number;
  malformed: number;
  /** Attempts the broker answered or closed, as it should. */
  turnedAway: number;
  /** Attempts left hanging GIVE_UP_MS: the broker neither answered nor closed. */
  unanswered: number;
}

export class HostileClient {
  readonly tally: HostileTally = { badLogins: 0, malformed: 0, turnedAway: 0, unanswered: 0 };
  private timer: NodeJS.Timeout | undefined;
  private turn = 0;

  constructor(private readonly port: () => number) {}

  start(everyMs: number): void {
    this.timer = setInterval(() => this.attempt(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private attempt(): void {
    const badLogin = this.turn++ % 2 === 0;
    const packet = badLogin
      ? generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId: `intruder-${this.turn}`,
          keepalive: 30,
          username: 'admin',
          password: Buffer.from('guess-' + String(this.turn)),
        })
      : // Packet type 0 is reserved: a protocol violation from the first byte.
        Buffer.from([0x00, 0x02, 0xde, 0xad]);
    if (badLogin) this.tally.badLogins += 1;
    else this.tally.malformed += 1;
    const socket = net.connect({ port: this.port(), host: '127.0.0.1', localAddress: HOSTILE_ADDRESS });
    const timer = setTimeout(() => {
      this.tally.unanswered += 1;
      socket.destroy();
    }, GIVE_UP_MS);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.tally.turnedAway += 1;
      socket.destroy();
    };
    socket.on('error', () => undefined);
    socket.once('connect', () => socket.write(packet));
    socket.once('data', finish); // a CONNACK refusing the login
    socket.once('close', finish);
  }
}
