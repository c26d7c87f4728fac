/**
 * How every camqtt service process starts and reports: the one place that exits the process.
 */
import { ConfigError } from './setting-values.js';

/** What a service's main function may resolve with: told to whoever started it (e.g. its ports). */
export type ReadyDetail = Record<string, unknown>;

/**
 * Runs a service's main function; a ConfigError (or any startup error) becomes one line on
 * stderr and exit code 2, with no stack trace for a mere wrong setting.
 *
 * Started by `npm start` (a Node parent with an IPC channel), the service also tells its parent
 * when main has resolved (`{type:'ready', service, ...detail}`), which works at any LOG_LEVEL,
 * and shuts down the normal way (SIGTERM) when the parent goes away.
 */
export function runService(name: string, main: () => Promise<ReadyDetail> | Promise<void>): void {
  if (process.send) process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  main().then(
    (detail) => process.send?.({ type: 'ready', service: name, ...(detail ?? {}) }),
    (error: unknown) => {
      const { code, address, port } = error as NodeJS.ErrnoException & { address?: string; port?: number };
      if (error instanceof ConfigError) {
        process.stderr.write(`${name}: configuration error: ${error.message}\n`);
      } else if (code === 'EADDRINUSE') {
        process.stderr.write(
          `${name}: failed to start: port ${port} on ${address} is already in use by another program (another camqtt or MQTT broker?); stop it or choose another port in .env\n`,
        );
      } else {
        process.stderr.write(`${name}: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      }
      process.exit(2);
    },
  );
}
