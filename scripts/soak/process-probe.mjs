/**
 * Loaded into each camqtt service by the soak (`node --import <this file> dist/main.js`): every
 * SOAK_PROBE_INTERVAL_MS it prints one JSON line, `{"msg":"soak probe",...}`, with what only the
 * process itself can tell: heap used, external memory, event-loop delay p99 since the last line,
 * and its live handles by type (timers, sockets, ...), where a leak of timers or sockets shows.
 * Plain JavaScript, so the services run without a TypeScript loader; it changes nothing else.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const intervalMs = Number(process.env.SOAK_PROBE_INTERVAL_MS) || 10_000;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

function handlesByType() {
  const counts = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

setInterval(() => {
  const memory = process.memoryUsage();
  const line = {
    msg: 'soak probe',
    time: Date.now(),
    heapUsed: memory.heapUsed,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    // The histogram includes the 10 ms sampling interval itself; what is left is the lateness.
    eventLoopP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - 10),
    handles: handlesByType(),
  };
  loopDelay.reset();
  process.stdout.write(`${JSON.stringify(line)}\n`);
}, intervalMs).unref();
