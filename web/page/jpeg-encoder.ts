/**
 * The browser camera's JPEG encoder: in a worker with OffscreenCanvas where the browser has both
 * (Chromium, Firefox, Safari 17+), so encoding never holds up the page; on the main thread with a
 * canvas otherwise. One frame is encoded at a time (the caller waits), so neither ever queues.
 */
import { withFrameMeta, type FrameMeta } from '@camqtt/wire';
import type { EncodeRequest, EncodeResult } from './jpeg-encoder-worker.js';

export interface JpegEncoder {
  /** Where it encodes, shown in the page's stats. */
  readonly where: 'worker' | 'main thread';
  encode(request: EncodeRequest): Promise<EncodeResult>;
  close(): void;
}

/** A picture encoded and stamped with the frame metadata: the bytes the relay publishes. */
export async function encodeFrame(
  encoder: JpegEncoder,
  picture: ImageBitmap,
  quality: number,
  meta: FrameMeta,
): Promise<{ jpeg: Uint8Array; encodeMs: number } | { error: string }> {
  const result = await encoder.encode({ picture, quality });
  if ('error' in result) return result;
  return { jpeg: withFrameMeta(new Uint8Array(result.jpeg), meta), encodeMs: result.encodeMs };
}

class WorkerEncoder implements JpegEncoder {
  readonly where = 'worker';
  private readonly worker = new Worker(new URL('jpeg-encoder-worker.js', window.location.href));
  private waiting: ((result: EncodeResult) => void) | undefined;

  constructor() {
    this.worker.addEventListener('message', (event: MessageEvent<EncodeResult>) => this.settle(event.data));
    this.worker.addEventListener('error', (event) => this.settle({ error: event.message || 'encoder worker failed' }));
  }

  async encode(request: EncodeRequest): Promise<EncodeResult> {
    return await new Promise<EncodeResult>((resolve) => {
      this.waiting = resolve;
      this.worker.postMessage(request, [request.picture]);
    });
  }

  close(): void {
    this.worker.terminate();
    this.settle({ error: 'encoder closed' });
  }

  private settle(result: EncodeResult): void {
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.(result);
  }
}

class MainThreadEncoder implements JpegEncoder {
  readonly where = 'main thread';
  private readonly canvas = document.createElement('canvas');

  async encode({ picture, quality }: EncodeRequest): Promise<EncodeResult> {
    const started = performance.now();
    this.canvas.width = picture.width;
    this.canvas.height = picture.height;
    this.canvas.getContext('2d')?.drawImage(picture, 0, 0);
    picture.close();
    const blob = await new Promise<Blob | null>((resolve) => this.canvas.toBlob(resolve, 'image/jpeg', quality / 100));
    if (!blob) return { error: 'the browser could not encode a JPEG' };
    return { jpeg: await blob.arrayBuffer(), encodeMs: performance.now() - started };
  }

  close(): void {}
}

export function createJpegEncoder(): JpegEncoder {
  return typeof Worker !== 'undefined' && typeof OffscreenCanvas !== 'undefined' ? new WorkerEncoder() : new MainThreadEncoder();
}
