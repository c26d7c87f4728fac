/**
 * Encodes the browser camera's frames off the page's main thread: a picture (ImageBitmap, already
 * at the size to publish) in, a JPEG out. OffscreenCanvas and convertToBlob do the encoding; the
 * tiles keep drawing while a phone encodes. It imports nothing: the metadata is stamped on the
 * main thread (one copy of the bytes), so the worker's bundle stays a few hundred bytes instead of
 * carrying the wire contract and zod.
 */

export interface EncodeRequest {
  picture: ImageBitmap;
  quality: number;
}

export type EncodeResult = { jpeg: ArrayBuffer; encodeMs: number } | { error: string };

let canvas: OffscreenCanvas | undefined;

async function encode({ picture, quality }: EncodeRequest): Promise<EncodeResult> {
  const started = performance.now();
  canvas ??= new OffscreenCanvas(picture.width, picture.height);
  if (canvas.width !== picture.width || canvas.height !== picture.height) {
    canvas.width = picture.width;
    canvas.height = picture.height;
  }
  const context = canvas.getContext('2d');
  if (!context) return { error: 'no 2d context on OffscreenCanvas' };
  context.drawImage(picture, 0, 0);
  picture.close();
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: quality / 100 });
  return { jpeg: await blob.arrayBuffer(), encodeMs: performance.now() - started };
}

addEventListener('message', (event: MessageEvent<EncodeRequest>) => {
  void encode(event.data).then(
    (result) => postMessage(result, { transfer: 'jpeg' in result ? [result.jpeg] : [] }),
    (error: unknown) => postMessage({ error: String(error) } satisfies EncodeResult),
  );
});
