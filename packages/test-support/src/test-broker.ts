/**
 * A plain in-process Aedes broker on a free loopback port, for tests of one client-side part
 * (publisher, relay) that do not need the bundled broker's accounts and TLS. Restartable on the
 * same port, and `stop()` drops every connection at once, as a broker crash looks to the clients.
 */
import { once } from 'node:events';
import net from 'node:net';
import { Aedes } from 'aedes';

export class TestBroker {
  private server: net.Server | undefined;
  private broker: Aedes | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  static async start(port = 0): Promise<TestBroker> {
    const broker = new TestBroker();
    await broker.start(port);
    return broker;
  }

  /** Listens on `port` (0: a free one, remembered for a restart). */
  async start(port = this.port): Promise<void> {
    this.broker = await Aedes.createBroker();
    const broker = this.broker;
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      broker.handle(socket);
    });
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    const broker = this.broker;
    this.server = undefined;
    this.broker = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
  }
}
