/** The broker's HTTP side: `GET /healthz` (liveness + client count) and `GET /metrics` (Prometheus). */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { closeServer, listen } from '@camqtt/service-kit';
import type { BrokerMetrics } from './metrics.js';

export interface HealthServerOptions {
  host: string;
  port: number;
  metrics: BrokerMetrics;
  countClients: () => number;
  /** In a cluster (BROKER_REDIS_URL): whether Redis is reachable; /healthz says 503 while it is not, so a balancer sends clients elsewhere. */
  redisReady?: (() => boolean) | undefined;
  log: Logger;
}

export class HealthServer {
  private server: Server | undefined;
  port: number | undefined;

  constructor(private readonly options: HealthServerOptions) {}

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      this.respond(request, response).catch((error: unknown) => {
        this.options.log.error({ err: error, url: request.url }, 'http request failed');
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
    });
    this.server = server;
    this.port = await listen(server, this.options.port, this.options.host);
    this.options.log.info({ listener: 'http', host: this.options.host, port: this.port }, 'listening');
  }

  private async respond(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://broker').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const redisUp = this.options.redisReady?.() ?? true;
      const body = JSON.stringify({
        status: redisUp ? 'ok' : 'redis unreachable',
        clients: this.options.countClients(),
        ...(this.options.redisReady ? { redis: redisUp } : {}),
      });
      response.writeHead(redisUp ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
      return;
    }
    if (path === '/metrics') {
      const { contentType, body } = await this.options.metrics.render();
      response.writeHead(200, { 'content-type': contentType }).end(body);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeServer(server, true);
  }
}
