/**
 * A TCP proxy in front of the broker that can make the link go silent: no FIN, no RST, nothing
 * forwarded either way (a Wi-Fi that drops), then resume on the same connections, or reset them
 * (a NAT that forgot them). The publisher's network-drop test and the soak use it.
 */
import { once } from 'node:events';
import net from 'node:net';

interface Link {
  client: net.Socket;
  /** Opened when forwarding starts: a connection made during the drop reaches nothing yet. */
  upstream: net.Socket | undefined;
  closed: boolean;
}

/** Forwards 127.0.0.1:<port> to the broker, and can make the link go silent. */
export class SilentLinkProxy {
  private readonly server = net.createServer((client) => this.accept(client));
  private readonly links = new Set<Link>();
  private silent = false;
  port = 0;

  constructor(private readonly brokerPort: number) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Stops forwarding both ways; nothing is closed, nothing is answered. */
  drop(): void {
    this.silent = true;
    for (const link of this.links) {
      link.client.unpipe();
      link.upstream?.unpipe();
      link.client.pause();
      link.upstream?.pause();
    }
  }

  /**
   * The network is back. 'resume': the same connections carry on (whatever waited in the socket
   * buffers is delivered). 'reset': the old connections are gone (reset), new ones work.
   */
  restore(how: 'resume' | 'reset' = 'resume'): void {
    this.silent = false;
    for (const link of this.links) {
      if (how === 'reset' || link.closed) this.close(link);
      else this.forward(link);
    }
  }

  /** Resets every connection (the network stays up): clients connect afresh. */
  reset(): void {
    for (const link of this.links) this.close(link);
  }

  async stop(): Promise<void> {
    for (const link of this.links) this.close(link);
    // Resolves also when it never listened (a stack that failed to start before it).
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const link: Link = { client, upstream: undefined, closed: false };
    this.links.add(link);
    client.on('error', () => undefined);
    client.once('close', () => this.closed(link));
    if (this.silent) client.pause();
    else this.forward(link);
  }

  private forward(link: Link): void {
    if (!link.upstream) {
      const upstream = net.connect(this.brokerPort, '127.0.0.1');
      upstream.on('error', () => undefined);
      upstream.once('close', () => this.closed(link));
      link.upstream = upstream;
    }
    link.client.pipe(link.upstream);
    link.upstream.pipe(link.client);
    link.client.resume();
    link.upstream.resume();
  }

  /** One side closed: passed on at once while the link works, only on restore while it is silent. */
  private closed(link: Link): void {
    link.closed = true;
    if (!this.silent) this.close(link);
  }

  private close(link: Link): void {
    link.closed = true;
    link.client.destroy();
    link.upstream?.destroy();
    this.links.delete(link);
  }
}
