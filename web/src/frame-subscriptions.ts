/**
 * Which cameras' frames the relay takes from the broker. By default every camera's (one
 * `<prefix>/+/frame` subscription). With WEB_FRAMES_WATCHED_ONLY, only the frames of the cameras a
 * viewer (WebSocket or MJPEG) watches now, one subscription per camera, following the viewers. In
 * a cluster that is what keeps a frame off the brokers nobody there watches it on: each broker
 * subscribes in Redis only to its own clients' filters, so a relay's wildcard would pull every
 * camera to its broker.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Topics } from '@camqtt/wire';

/** How long watch changes gather before the subscriptions follow. */
const BATCH_MS = 50;

/** Every camera, or these. */
export type WatchedCameras = ReadonlySet<string> | 'all';

export class FrameSubscriptions {
  private wanted: WatchedCameras;
  /** The frame filters subscribed on the current connection. */
  private subscribed = new Set<string>();
  private client: MqttClient | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing = false;
  private again = false;

  constructor(
    private readonly topics: Topics,
    private readonly watchedOnly: boolean,
    private readonly log: Logger,
  ) {
    this.wanted = watchedOnly ? new Set() : 'all';
  }

  /** Whether frames of `camera` are wanted now. */
  wants(camera: string): boolean {
    return this.wanted === 'all' || this.wanted.has(camera);
  }

  /** A new connection: the frame filters for its first SUBSCRIBE. */
  filtersForNewConnection(): string[] {
    this.subscribed = new Set(this.filters());
    return [...this.subscribed];
  }

  /**
   * The cameras the viewers watch now; the connection's subscriptions follow (WEB_FRAMES_WATCHED_ONLY
   * only). Changes are batched (viewers arrive in crowds, and each is "every camera" until its page
   * says otherwise), and one SUBSCRIBE or UNSUBSCRIBE is in flight at a time, so the broker never
   * sees a filter added and dropped at once.
   */
  watch(cameras: WatchedCameras, client: MqttClient | undefined): void {
    if (!this.watchedOnly) return;
    this.wanted = cameras;
    this.client = client;
    this.syncTimer ??= setTimeout(() => {
      this.syncTimer = undefined;
      void this.sync();
    }, BATCH_MS);
  }

  stop(): void {
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
  }

  private async sync(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return;
    }
    const client = this.client;
    // Not connected: the next connection subscribes to what is wanted then.
    if (!client?.connected) return;
    this.syncing = true;
    try {
      const next = new Set(this.filters());
      const added = [...next].filter((filter) => !this.subscribed.has(filter));
      const dropped = [...this.subscribed].filter((filter) => !next.has(filter));
      this.subscribed = next;
      if (added.length > 0) await client.subscribeAsync(added, { qos: 0 });
      if (dropped.length > 0) await client.unsubscribeAsync(dropped);
      if (added.length + dropped.length > 0) this.log.debug({ added, dropped }, 'frame subscriptions follow the viewers');
    } catch (error) {
      // A lost connection subscribes afresh on the next connect.
      this.log.warn({ err: error }, 'changing the frame subscriptions failed');
    } finally {
      this.syncing = false;
    }
    if (this.again) {
      this.again = false;
      await this.sync();
    }
  }

  private filters(): string[] {
    return this.wanted === 'all' ? [this.topics.all('frame')] : [...this.wanted].map((camera) => this.topics.frame(camera));
  }
}
