/**
 * The recorder's Prometheus metrics, in a registry of its own (as the broker's), and the HTTP
 * side that serves them with /healthz on 127.0.0.1 (RECORD_METRICS_PORT).
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { closeServer, listen } from '@camqtt/service-kit';
import type { RecordingStatus } from '@camqtt/wire';

export const METRIC_PREFIX = 'camqtt_recorder_';
const STATES: RecordingStatus['state'][] = ['recording', 'waiting', 'off', 'disk-full', 'error'];

export interface MetricsSources {
  /** Every camera's state now. */
  states: () => Array<{ camera: string; state: RecordingStatus['state'] }>;
  diskFreeBytes: () => number | undefined;
  storedBytes: () => number | undefined;
}

export class RecorderMetrics {
  readonly registry = new Registry();
  readonly framesRecorded: Counter<'camera'>;
  readonly framesDropped: Counter<'camera' | 'reason'>;
  readonly segmentsWritten: Counter<'camera'>;
  readonly segmentBytes: Counter<'camera'>;
  readonly retentionDeleted: Counter<'reason'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
      new Counter({ name: METRIC_PREFIX + name, help, labelNames, registers });
    this.framesRecorded = counter('frames_recorded_total', 'Frames handed to FFmpeg for a segment.', ['camera']);
    this.framesDropped = counter(
      'frames_dropped_total',
      'Frames not recorded: backlog (FFmpeg behind by about 2 s of frames), failed (no segment open: disk full or FFmpeg failing).',
      ['camera', 'reason'],
    );
    this.segmentsWritten = counter('segments_written_total', 'Segments finished and listed in segments.jsonl.', ['camera']);
    this.segmentBytes = counter('segment_bytes_total', 'Bytes of the finished segments.', ['camera']);
    this.retentionDeleted = counter('retention_deleted_segments_total', 'Segments deleted by retention: age or size.', ['reason']);
    new Gauge({
      name: `${METRIC_PREFIX}camera_state`,
      help: "1 for each camera's current recording state (recording, waiting, off, disk-full, error).",
      labelNames: ['camera', 'state'],
      registers,
      collect() {
        this.reset();
        for (const { camera, state } of sources.states())
          for (const each of STATES) this.set({ camera, state: each }, each === state ? 1 : 0);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}disk_free_bytes`,
      help: "Free bytes on RECORD_DIR's filesystem, as last measured.",
      registers,
      collect() {
        const free = sources.diskFreeBytes();
        if (free !== undefined) this.set(free);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}stored_bytes`,
      help: 'Bytes of recordings in RECORD_DIR, as the last retention pass counted them.',
      registers,
      collect() {
        const bytes = sources.storedBytes();
        if (bytes !== undefined) this.set(bytes);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }
}

/** GET /healthz (200 while connected to the broker, else 503) and GET /metrics, on 127.0.0.1. */
export class MetricsServer {
  private server: Server | undefined;

  constructor(
    private readonly metrics: RecorderMetrics,
    private readonly connected: () => boolean,
    private readonly log: Logger,
  ) {}

  async start(port: number): Promise<number> {
    const server = createServer((request, response) => {
      const path = new URL(request.url ?? '/', 'http://recorder').pathname;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD' }).end();
      } else if (path === '/healthz') {
        const connected = this.connected();
        response
          .writeHead(connected ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(JSON.stringify({ status: connected ? 'ok' : 'not connected to the MQTT broker' }));
      } else if (path === '/metrics') {
        this.metrics.registry.metrics().then(
          (body) => response.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(body),
          (error: unknown) => {
            this.log.error({ err: error }, 'metrics failed');
            response.writeHead(500).end();
          },
        );
      } else {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    });
    this.server = server;
    const bound = await listen(server, port, '127.0.0.1');
    this.log.info({ listener: 'http', host: '127.0.0.1', port: bound }, 'listening');
    return bound;
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server, true);
    this.server = undefined;
  }
}
