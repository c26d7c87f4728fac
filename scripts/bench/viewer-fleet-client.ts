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
    const child = this.process.child;
    return await new Promise<FleetReply>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onMessage = (message: FleetReply): void => {
        cleanup();
        if (message.type === 'error') reject(new Error(`${this.process.name}: ${message.message}`));
        else resolve(message);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        cleanup();
        reject(
          new Error(`${this.process.name} exited (code ${code}, signal ${signal}) during "${request.type}".\n${this.process.describe()}`),
        );
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.process.name}: no answer to "${request.type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (this.process.exited || !child.connected) {
        onExit(child.exitCode, child.signalCode);
        return;
      }
      child.send(request);
    });
  }

  async stop(): Promise<void> {
    if (this.process.child.connected) this.process.child.disconnect();
    await this.process.stop(2000);
  }
}
