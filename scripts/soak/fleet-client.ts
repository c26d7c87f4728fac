/** The soak's side of the viewer fleet (fleet.ts): one request at a time, each bounded in time. */
import { fileURLToPath } from 'node:url';
import { startBenchChild, type ServiceProcess } from '../bench/processes.js';
import type { FleetCollected, FleetReply, FleetRequest, FleetSample } from './fleet.js';

const FLEET_MODULE = fileURLToPath(new URL('./fleet.ts', import.meta.url));
const REQUEST_TIMEOUT_MS = 15_000;

export class FleetClient {
  readonly process: ServiceProcess = startBenchChild('viewer fleet', FLEET_MODULE);

  async start(request: Extract<FleetRequest, { type: 'start' }>): Promise<void> {
    await this.request(request);
  }

  async mark(at: number, fault: string, cameras: string[]): Promise<void> {
    await this.request({ type: 'mark', at, fault, cameras });
  }

  async sample(): Promise<FleetSample> {
    const reply = await this.request({ type: 'sample' });
    if (reply.type !== 'sample') throw new Error(`viewer fleet answered "${reply.type}" to "sample"`);
    return reply;
  }

  async collect(): Promise<FleetCollected> {
    const reply = await this.request({ type: 'collect' });
    if (reply.type !== 'collected') throw new Error(`viewer fleet answered "${reply.type}" to "collect"`);
    return reply;
  }

  /** Replies carry no id, so requests go one after the other. */
  private queue: Promise<unknown> = Promise.resolve();

  private async request(request: FleetRequest): Promise<FleetReply> {
    const next = this.queue.then(() => this.send(request));
    this.queue = next.catch(() => undefined);
    return await next;
  }

  private async send(request: FleetRequest): Promise<FleetReply> {
    return await this.process.request<FleetReply>(request, REQUEST_TIMEOUT_MS);
  }

  async stop(): Promise<void> {
    if (this.process.child.connected) this.process.child.disconnect();
    await this.process.stop(2000);
  }
}
