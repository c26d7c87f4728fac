/**
 * The page's WebSocket to the relay, reconnecting by itself with backoff (0.5 s doubling to 5 s)
 * whenever the relay goes away.
 */
import { decodeViewerFrame, type ViewerEvent, type ViewerFrame, type ViewerRequest } from '@camqtt/wire';

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 5_000;

export type ConnectionState = { state: 'connecting' } | { state: 'open' } | { state: 'reconnecting'; retryInMs: number };

export interface RelayConnectionHandlers {
  onFrame(frame: ViewerFrame): void;
  onEvent(event: ViewerEvent): void;
  onState(state: ConnectionState): void;
  /** A connection closed before it ever opened: the relay is down, or it refused us (logged out). */
  onRefused?(): void;
}

export class RelayConnection {
  private socket: WebSocket | undefined;
  private retryTimer: number | undefined;
  private retryMs = FIRST_RETRY_MS;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly handlers: RelayConnectionHandlers,
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.retryTimer);
    this.socket?.close(1000);
    this.socket = undefined;
  }

  /** Sends a request (e.g. a camera selection) if connected; after a reconnect the caller resends. */
  send(request: ViewerRequest): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(request));
  }

  private connect(): void {
    this.handlers.onState({ state: 'connecting' });
    const socket = new WebSocket(this.url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    let opened = false;
    socket.addEventListener('open', () => {
      opened = true;
      this.retryMs = FIRST_RETRY_MS;
      this.handlers.onState({ state: 'open' });
    });
    socket.addEventListener('message', (message: MessageEvent<ArrayBuffer | string>) => this.onMessage(message.data));
    // Every failure ends in 'close' (an 'error' is always followed by it), so retrying lives here.
    socket.addEventListener('close', () => {
      if (this.socket !== socket || this.stopped) return;
      this.socket = undefined;
      if (!opened) this.handlers.onRefused?.();
      this.scheduleRetry();
    });
  }

  private scheduleRetry(): void {
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.handlers.onState({ state: 'reconnecting', retryInMs: delay });
    this.retryTimer = window.setTimeout(() => this.connect(), delay);
  }

  private onMessage(data: ArrayBuffer | string): void {
    if (typeof data !== 'string') {
      const frame = decodeViewerFrame(new Uint8Array(data));
      if (frame) this.handlers.onFrame(frame);
      return;
    }
    let event: ViewerEvent;
    try {
      event = JSON.parse(data) as ViewerEvent;
    } catch {
      console.warn('camqtt: ignored a relay message that is not JSON');
      return;
    }
    this.handlers.onEvent(event);
  }
}
