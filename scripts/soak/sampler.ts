/**
 * One sample of everything, every --sample-seconds: per process (broker, publishers and their
 * capture helpers, relay, the viewer fleet) RSS, open fds and sockets from /proc, and from the
 * soak probe's last line heap used, external memory, event-loop delay p99 and live handles; the
 * broker's and the relay's Prometheus counters; the viewers' fps; the cameras' retained status.
 */
import type { ServiceProcess } from '@camqtt/test-support';
import type { AdminClient } from './admin-client.js';
import type { FleetClient } from './fleet-client.js';
import type { FleetSample } from './fleet.js';
import { childPids, procSample } from './proc-sample.js';
import type { SoakStack } from './soak-stack.js';

export interface ProcessPoint {
  label: string;
  pid: number;
  rssMiB: number;
  fds: number;
  sockets: number;
  cpuSeconds?: number;
  heapUsedMiB?: number;
  externalMiB?: number;
  eventLoopP99Ms?: number;
  /** Long-lived handles (timers, sockets, servers), without the transient ones. */
  handles?: number;
  handlesByType?: Record<string, number>;
}

export interface Sample {
  /** Seconds since the soak started. */
  t: number;
  processes: ProcessPoint[];
  viewers: Omit<FleetSample, 'type'>;
  cameras: Record<string, { online: boolean; framesSent?: number; framesDropped?: number; error?: string }>;
  /** Selected Prometheus series (sums over their labels). */
  broker: Record<string, number>;
  relay: Record<string, number>;
}

const MiB = 1024 * 1024;

interface ProbeLine {
  msg?: string;
  time?: number;
  heapUsed?: number;
  external?: number;
  eventLoopP99Ms?: number;
  handles?: Record<string, number>;
}

/** The newest probe line of a process, if it is recent (a process that stopped printing is not described by an old one). */
function latestProbe(service: ServiceProcess, maxAgeMs: number): ProbeLine | undefined {
  for (let i = service.lines.length - 1; i >= 0; i -= 1) {
    const line = service.lines[i] as ProbeLine;
    if (line.msg !== 'soak probe') continue;
    return line.time !== undefined && Date.now() - line.time <= maxAgeMs ? line : undefined;
  }
  return undefined;
}

/**
 * Resources that come and go with each write, lookup or setImmediate: at any moment a few are in
 * flight, which says nothing about a leak. The rest (timers, sockets, servers, pipes) are counted.
 */
const TRANSIENT_RESOURCES = new Set([
  'Immediate',
  'SimpleWriteWrap',
  'WriteWrap',
  'ShutdownWrap',
  'FSReqCallback',
  'FSReqPromise',
  'FileHandleCloseReq',
  'GetAddrInfoReqWrap',
  'QueryReqWrap',
  'TCPConnectWrap',
]);

function point(label: string, pid: number | undefined, probe?: ProbeLine): ProcessPoint | undefined {
  const proc = procSample(pid);
  if (!proc || pid === undefined) return undefined;
  const handles = probe?.handles;
  return {
    label,
    pid,
    rssMiB: proc.rssMiB,
    fds: proc.fds,
    sockets: proc.sockets,
    cpuSeconds: proc.cpuSeconds,
    heapUsedMiB: probe?.heapUsed !== undefined ? probe.heapUsed / MiB : undefined,
    externalMiB: probe?.external !== undefined ? probe.external / MiB : undefined,
    eventLoopP99Ms: probe?.eventLoopP99Ms,
    handles: handles
      ? Object.entries(handles)
          .filter(([type]) => !TRANSIENT_RESOURCES.has(type))
          .reduce((sum, [, n]) => sum + n, 0)
      : undefined,
    handlesByType: handles,
  };
}

/**
 * Sums of the named series in a Prometheus text exposition, over all their labels but `byLabel`,
 * whose values get a sum each (`name{reason="replaced"}`). Hand-written: prom-client only writes
 * this format, and six lines read the few series the soak wants.
 */
export function prometheusSums(text: string, names: readonly string[], byLabel?: string): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match || !names.includes(match[1]!)) continue;
    const labelValue = byLabel ? new RegExp(`${byLabel}="([^"]*)"`).exec(match[2] ?? '')?.[1] : undefined;
    const key = labelValue !== undefined ? `${match[1]!}{${byLabel}="${labelValue}"}` : match[1]!;
    sums[key] = (sums[key] ?? 0) + Number(match[3]);
  }
  return sums;
}

async function scrape(url: string, names: readonly string[], byLabel?: string): Promise<Record<string, number>> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return response.ok ? prometheusSums(await response.text(), names, byLabel) : {};
  } catch {
    return {}; // down during a restart: a gap in the series, not an error
  }
}

const BROKER_SERIES = [
  'camqtt_broker_connected_clients',
  'camqtt_broker_refused_logins_total',
  'camqtt_broker_malformed_packets_total',
  'camqtt_broker_dropped_messages_total',
  'camqtt_broker_process_open_fds',
  'camqtt_broker_nodejs_eventloop_lag_p99_seconds',
] as const;
const RELAY_SERIES = [
  'camqtt_web_frames_received_total',
  'camqtt_web_frames_sent_total',
  'camqtt_web_frames_dropped_total',
  'camqtt_web_viewers',
  'camqtt_web_viewers_terminated_total',
] as const;

export async function takeSample(
  t: number,
  stack: SoakStack,
  fleet: FleetClient,
  admin: AdminClient,
  probeMaxAgeMs: number,
): Promise<Sample> {
  const processes: ProcessPoint[] = [];
  for (const [label, service] of stack.processes()) {
    const main = point(label, service.pid, latestProbe(service, probeMaxAgeMs));
    if (main) processes.push(main);
    // The publisher's capture helper (cameras and URLs are read in one): a process of its own to watch.
    for (const child of childPids(service.pid)) {
      const helper = point(`${label} helper`, child);
      if (helper) processes.push(helper);
    }
  }
  const fleetPoint = point('viewer fleet', fleet.process.pid);
  if (fleetPoint) processes.push(fleetPoint);
  const soakPoint = point('soak', process.pid);
  if (soakPoint) processes.push(soakPoint);
  const [viewers, broker, relay] = await Promise.all([
    fleet.sample(),
    scrape(`http://127.0.0.1:${stack.ports.brokerHttp}/metrics`, BROKER_SERIES, 'reason'),
    scrape(`${stack.baseUrl}/metrics`, RELAY_SERIES, 'reason'),
  ]);
  const { type: _type, ...viewerFigures } = viewers;
  const cameras: Sample['cameras'] = {};
  for (const camera of stack.cameras) {
    const status = admin.statuses.get(camera.id);
    cameras[camera.id] = {
      online: status?.online ?? false,
      framesSent: status?.framesSent,
      framesDropped: status?.framesDropped,
      error: status?.error,
    };
  }
  return { t, processes, viewers: viewerFigures, cameras, broker, relay };
}
