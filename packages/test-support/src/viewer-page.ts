/**
 * Opens the viewer page in Debian's Chromium (driven by playwright-core) and reads what a person
 * would see on one camera's tile: whether the picture changes, and the FPS and latency overlay.
 */
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Chromium's own fake camera (a moving test pattern) and no permission prompt: for the browser camera. */
export const FAKE_CAMERA_ARGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

export async function launchBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    // As root in CI, without a GPU, and with no traffic to anything but the page under test.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

export interface TileReading {
  fps: number;
  latencyText: string;
  latencyMs: number;
}

export async function readTile(page: Page, camera: string): Promise<TileReading> {
  const tile = page.locator(`[data-camera="${camera}"]`);
  const fpsText = (await tile.locator('[data-stat="fps"]').textContent()) ?? '';
  const latencyText = (await tile.locator('[data-stat="latency"]').textContent()) ?? '';
  return { fps: Number.parseFloat(fpsText), latencyText, latencyMs: Number.parseFloat(latencyText) };
}

export async function canvasSnapshot(page: Page, camera: string): Promise<string> {
  return await page.locator(`[data-camera="${camera}"] canvas`).evaluate((canvas) => (canvas as HTMLCanvasElement).toDataURL('image/png'));
}

/**
 * Opens `url`, waits for the camera's tile, and returns two canvas snapshots taken apart in time
 * plus the overlay once it shows a positive FPS and a numeric latency.
 */
export async function watchCamera(
  browser: Browser,
  url: string,
  camera: string,
  timeoutMs = 30_000,
): Promise<{ first: string; second: string; reading: TileReading; page: Page }> {
  const page = await browser.newPage();
  await page.goto(url);
  await page.locator(`[data-camera="${camera}"] canvas`).waitFor({ timeout: timeoutMs });
  await page.waitForFunction(
    (cam) => {
      const tile = document.querySelector(`[data-camera="${cam}"]`);
      const fps = Number.parseFloat(tile?.querySelector('[data-stat="fps"]')?.textContent ?? '');
      const latency = Number.parseFloat(tile?.querySelector('[data-stat="latency"]')?.textContent ?? '');
      return fps > 0 && Number.isFinite(latency);
    },
    camera,
    { timeout: timeoutMs },
  );
  const first = await canvasSnapshot(page, camera);
  await page.waitForFunction(
    ([cam, before]) => document.querySelector<HTMLCanvasElement>(`[data-camera="${cam}"] canvas`)?.toDataURL('image/png') !== before,
    [camera, first] as const,
    { timeout: timeoutMs },
  );
  const second = await canvasSnapshot(page, camera);
  const reading = await readTile(page, camera);
  return { first, second, reading, page };
}
