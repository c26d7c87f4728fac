/**
 * JPEG -> something a canvas can draw, two ways:
 *  - `bitmap`: createImageBitmap(Blob), everywhere;
 *  - `imagedecoder`: WebCodecs ImageDecoder (Chromium), which hands back a VideoFrame.
 * Which is faster depends on the browser and machine; the default is `bitmap`, which works
 * everywhere, and `?decoder=bitmap|imagedecoder` on the page URL overrides it.
 */
export interface DecodedImage {
  image: CanvasImageSource;
  width: number;
  height: number;
  close(): void;
}

export type DecoderKind = 'bitmap' | 'imagedecoder';

export function pickDecoder(requested: string | null): DecoderKind {
  const hasImageDecoder = typeof ImageDecoder !== 'undefined';
  if (requested === 'imagedecoder' && hasImageDecoder) return 'imagedecoder';
  if (requested === 'bitmap') return 'bitmap';
  return DEFAULT_DECODER === 'imagedecoder' && hasImageDecoder ? 'imagedecoder' : 'bitmap';
}

const DEFAULT_DECODER: DecoderKind = 'bitmap';

export async function decodeJpeg(kind: DecoderKind, payload: Uint8Array): Promise<DecodedImage> {
  const bytes = payload as Uint8Array<ArrayBuffer>;
  if (kind === 'imagedecoder') {
    const decoder = new ImageDecoder({ data: bytes, type: 'image/jpeg' });
    try {
      const { image } = await decoder.decode();
      return { image, width: image.displayWidth, height: image.displayHeight, close: () => image.close() };
    } finally {
      decoder.close();
    }
  }
  const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/jpeg' }));
  return { image: bitmap, width: bitmap.width, height: bitmap.height, close: () => bitmap.close() };
}
