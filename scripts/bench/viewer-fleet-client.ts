/** The bench's side of a viewer fleet (see viewer-fleet.ts): one request at a time, each bounded. */
import { fileURLToPath } from 'node:url';
import { startBenchChild, type ServiceProcess } from './processes.js';
import type { FleetReply, FleetRequest } from './viewer-fleet.js';

const FLEET_MODULE = fileURLToPath(new URL('./viewer-fleet.ts', import.meta.url));

export class ViewerFleet {
  private constructor(readonly process: ServiceProcess) {}

  static start(label: string): ViewerFleet {
    return new ViewerFleet(startBenchChild(label, FLEET_MODULE));
  }

  async request(request: FleetRequest, timeoutMs: number): Promise<FleetReply> {
    return await this.process.request<FleetReply>(request, timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.process.child.connected) this.process.child.disconnect();
    await this.process.stop(2000);
  }
}
