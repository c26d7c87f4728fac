/**
 * The page's recordings in Debian's Chromium, recorded by the real recorder (services/recorder,
 * 5-s segments of a camera publishing at 10 fps, H.264 for one camera and the JPEGs as they came
 * for another): the single view's timeline of the day's segments and motion events, playing a
 * recorded segment in the page's player from a moment picked on the timeline, seeking into the
 * next segment, downloading a clip that ffprobe reads, a snapshot at the moment shown, back to
 * live; JPEG-format recordings playing as MJPEG; the motion badge and the recorder's state from
 * the broker.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { checkJpeg, Topics, type MotionEvent, type RecordingStatus } from '@camqtt/wire';
import { launchBrowser, ServiceProcess, TestBroker, waitFor } from '@camqtt/test-support';
import { connectPublisher, FakeCamera, getJson, makeJpegs, PREFIX, startRelay } from './support.js';
import { probe, writeEvents } from './recordings-support.js';

const topics = new Topics(PREFIX);
const SEGMENT_S = 5;
let DAY: string;

interface ListedSegment {
  start: number;
  end: number;
  format: string;
  open: boolean;
}
/** The first two closed segments of cam1, as the API lists them. */
let first: ListedSegment;
let second: ListedSegment;
let jpegSegment: ListedSegment;

let workDir: string;
let broker: TestBroker;
let baseUrl: string;
let stopRelay: () => Promise<void>;
let publisher: MqttClient;
let browser: Browser;
const cameras: FakeCamera[] = [];

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'camqtt-recordings-page-'));
  const recordDir = join(workDir, 'recordings');
  broker = await TestBroker.start();
  const relay = await startRelay(broker.url, 0, { env: { RECORD_DIR: recordDir } });
  baseUrl = relay.baseUrl;
  const started: ServiceProcess[] = [relay.relay];
  stopRelay = async () => {
    await Promise.all(started.map(async (process) => await process.stop()));
  };
  for (const [camera, format] of [
    ['cam1', 'h264'],
    ['jpegcam', 'jpeg'],
  ] as const) {
    started.push(
      ServiceProcess.start('recorder', {
        MQTT_URL: broker.url,
        TOPIC_PREFIX: PREFIX,
        RECORD_DIR: recordDir,
        RECORD_CAMERAS: camera,
        RECORD_FORMAT: format,
        RECORD_SEGMENT_S: String(SEGMENT_S),
        RECORD_METRICS_PORT: 'off',
        // The moving test pattern is motion; this test's only event is the one it writes itself.
        MOTION_DETECTION: 'false',
      }),
    );
  }
  publisher = await connectPublisher(broker.url);
  const jpegs = await makeJpegs(10);
  for (const id of ['cam1', 'jpegcam', 'badgecam']) {
    await publisher.publishAsync(topics.status(id), JSON.stringify({ camera: id, online: true }), { qos: 1, retain: true });
    const camera = new FakeCamera(publisher, id, jpegs, 100);
    camera.start();
    cameras.push(camera);
  }
  browser = await launchBrowser();
  // Two closed segments of cam1 (the recorder goes on with a third), one of jpegcam.
  const closed = async (camera: string, count: number): Promise<ListedSegment[] | undefined> => {
    const { body } = await getJson(`${baseUrl}/api/recordings/${camera}/${new Date().toISOString().slice(0, 10)}`);
    const segments = (body as { segments: ListedSegment[] }).segments.filter((segment) => !segment.open);
    return segments.length >= count ? segments : undefined;
  };
  [first, second] = (await waitFor('two closed segments of cam1', async () => await closed('cam1', 2), 60_000)) as [
    ListedSegment,
    ListedSegment,
  ];
  [jpegSegment] = (await waitFor('a closed segment of jpegcam', async () => await closed('jpegcam', 1), 60_000)) as [ListedSegment];
  DAY = new Date(first.start).toISOString().slice(0, 10);
  await writeEvents(recordDir, [
    { type: 'motion', state: 'end', id: 'm1', camera: 'cam1', start: first.start + 1000, end: first.start + 3000, score: 0.3 },
  ]);
});

after(async () => {
  for (const camera of cameras) camera.stop();
  await browser?.close();
  await publisher?.endAsync();
  await stopRelay?.();
  await broker?.stop();
  await rm(workDir, { recursive: true, force: true });
});

async function openSingleView(camera: string, recorded = true): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content.Security.Policy/i.test(message.text())) problems.push(message.text());
  });
  await page.goto(`${baseUrl}/#camera=${camera}`);
  await page.locator('[data-role="recordings-toggle"]').click();
  if (recorded) {
    await page.locator(`[data-role="day"] option[value="${DAY}"]`).waitFor({ state: 'attached' });
    // The day's listing has arrived and is drawn.
    await page.locator('.lane-segments .segment').first().waitFor();
  }
  return { page, problems };
}

/** Clicks the timeline where it shows `time` (after zooming so one click is within a second). */
async function clickTimeline(page: Page, time: number): Promise<void> {
  const track = page.locator('.timeline-track');
  const box = await track.boundingBox();
  assert.ok(box, 'the timeline is on screen');
  const [start, end] = await page
    .locator('.timeline')
    .evaluate((node) => [Number((node as HTMLElement).dataset.viewStart), Number((node as HTMLElement).dataset.viewEnd)]);
  assert.ok(time >= start && time <= end, 'the moment is in view');
  await page.mouse.click(box.x + ((time - start) / (end - start)) * box.width, box.y + box.height / 2);
}

/** The moment the page's player shows, once its video is playing and has moved on. */
async function playingVideo(page: Page): Promise<{ src: string; currentTime: number }> {
  await page.waitForFunction(() => {
    const video = document.querySelector<HTMLVideoElement>('.player video');
    return video !== null && !video.paused && video.readyState >= 2 && video.currentTime > 0;
  });
  const first = await page.locator('.player video').evaluate((video: HTMLVideoElement) => video.currentTime);
  await page.waitForFunction(
    (before) => (document.querySelector<HTMLVideoElement>('.player video')?.currentTime ?? 0) > before + 0.3,
    first,
  );
  return await page
    .locator('.player video')
    .evaluate((video: HTMLVideoElement) => ({ src: video.currentSrc, currentTime: video.currentTime }));
}

test('the timeline shows the day; a click plays that moment in the player; seeking; a clip and a snapshot download; back to live', async () => {
  const { page, problems } = await openSingleView('cam1');
  assert.equal(await page.locator('[data-role="day"]').inputValue(), DAY);
  // The recorder's own retained state, through the relay.
  await page
    .locator('[data-role="recorder-status"][data-state="recording"]')
    .filter({ hasText: /^● recording · .+\/h · .+ free$/ })
    .waitFor();
  await page.locator('[data-camera="cam1"] [data-role="recorder"][data-state="recording"]').waitFor();
  // Back-to-back segments are one block; the motion event is its own mark and a button.
  await page.locator('.lane-segments .segment').first().waitFor();
  assert.equal(await page.locator('.lane-motion .motion-mark').count(), 1);
  assert.match((await page.locator('[data-role="events"] button').first().textContent()) ?? '', /motion 2 s/);

  await page.locator('[data-role="zoom"]').selectOption(String(600_000));
  await clickTimeline(page, first.start + 2000);
  assert.equal(await page.locator('#grid').isHidden(), true, 'the live picture makes way for the recording');
  const played = await playingVideo(page);
  assert.ok(played.src.endsWith(`/api/recordings/cam1/${DAY}/${first.start}.mp4`), played.src);
  assert.ok(played.currentTime > 1 && played.currentTime < 4.5, `played from ${played.currentTime} s into the segment`);
  await page
    .locator('[data-role="position"]')
    .filter({ hasText: /^playing \d\d:\d\d:\d\d$/ })
    .waitFor();

  // Seek into the next segment from the timeline, then within it with the video itself.
  await clickTimeline(page, second.start + 2000);
  const sought = await playingVideo(page);
  assert.ok(sought.src.endsWith(`/api/recordings/cam1/${DAY}/${second.start}.mp4`), sought.src);
  assert.ok(sought.currentTime > 1 && sought.currentTime < 4.5, `sought to ${sought.currentTime} s into the second segment`);
  await page.locator('.player video').evaluate((video: HTMLVideoElement) => {
    video.currentTime = 0.5;
  });
  await page.waitForFunction(() => {
    const video = document.querySelector<HTMLVideoElement>('.player video');
    return video !== null && video.currentTime >= 0.5 && video.currentTime < 2 && !video.seeking;
  });

  // A snapshot of the moment shown, then a 7-s clip between two typed times.
  const snapshotDownload = page.waitForEvent('download');
  await page.locator('[data-action="snapshot-at"]').click();
  const snapshot = await readFile(await (await snapshotDownload).path());
  assert.deepEqual(checkJpeg(new Uint8Array(snapshot)), { ok: true });

  // The inputs hold whole seconds.
  const from = Math.ceil((first.start + 1000) / 1000) * 1000;
  const to = Math.floor((second.start + 3000) / 1000) * 1000;
  await page.locator('[data-role="clip-from"]').fill(localInput(from));
  await page.locator('[data-role="clip-to"]').fill(localInput(to));
  assert.equal(await page.locator('[data-action="clip"]').getAttribute('aria-disabled'), 'false');
  const clipDownload = page.waitForEvent('download');
  await page.locator('[data-action="clip"]').click();
  const clip = await clipDownload;
  assert.match(clip.suggestedFilename(), /^cam1-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-\d+s\.mp4$/);
  const read = await probe(await clip.path());
  assert.equal(read.streams[0]?.codec_name, 'h264');
  // Copied, so it starts at the keyframe at or before "from" (the recorder makes one a second).
  const asked = (to - from) / 1000;
  assert.ok(read.duration >= asked - 0.3 && read.duration <= asked + 1.2, `clip is ${read.duration} s for ${asked} s asked`);
  assert.ok(Math.abs(read.frames - read.duration * 10) <= 3, `${read.frames} frames in ${read.duration} s at 10 fps`);

  // A motion event's button plays from just before it: 2 s before its start, in the first segment.
  await page.locator('[data-role="events"] button').first().click();
  const fromEvent = await playingVideo(page);
  assert.ok(fromEvent.src.endsWith(`/${first.start}.mp4`), fromEvent.src);
  assert.ok(fromEvent.currentTime < 3, `the event at 1 s into the segment plays from ${fromEvent.currentTime} s`);

  // Keyboard: the timeline is a slider; Home moves the cursor to the day's start, Enter plays from it.
  await page.locator('.timeline').focus();
  await page.keyboard.press('Home');
  await page.keyboard.press('Enter');
  await page
    .locator('[data-role="position"]')
    .filter({ hasText: /^playing/ })
    .waitFor();
  const fromStart = await playingVideo(page);
  assert.ok(fromStart.src.endsWith(`/${first.start}.mp4`), 'from the start of the day: the first segment, from its start');

  await page.locator('[data-action="live"]').click();
  await page.locator('[data-camera="cam1"] [data-role="badge"][data-state="live"]').waitFor();
  assert.equal(await page.locator('.player').isHidden(), true);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a JPEG-format recording plays as MJPEG in the player', async () => {
  const { page, problems } = await openSingleView('jpegcam');
  await page.locator('[data-role="zoom"]').selectOption(String(600_000));
  await clickTimeline(page, jpegSegment.start + 1000);
  await page.waitForFunction(() => {
    const image = document.querySelector<HTMLImageElement>('.player img');
    return image !== null && !image.hidden && image.naturalWidth === 320;
  });
  assert.equal(await page.locator('.player video').isHidden(), true);
  await page.locator('[data-action="live"]').click();
  assert.deepEqual(problems, []);
  await page.close();
});

test("the motion badge and the recorder's state follow the broker", async () => {
  const { page } = await openSingleView('badgecam', false);
  const status: RecordingStatus = {
    camera: 'badgecam',
    state: 'recording',
    mode: 'continuous',
    format: 'h264',
    bytesPerHour: 42e6,
    diskFreeBytes: 12.3e9,
    updatedAt: Date.now(),
  };
  await publisher.publishAsync(topics.recording('badgecam'), JSON.stringify(status), { qos: 1, retain: true });
  await page.locator('[data-role="recorder-status"]').filter({ hasText: '● recording · 42.0 MB/h · 12.3 GB free' }).waitFor();
  await page.locator('[data-camera="badgecam"] [data-role="recorder"][data-state="recording"]').waitFor();
  const start: MotionEvent = { type: 'motion', state: 'start', id: 'live1', camera: 'badgecam', start: Date.now(), score: 0.5 };
  await publisher.publishAsync(topics.event('badgecam'), JSON.stringify(start), { qos: 1, retain: true });
  await page.locator('[data-camera="badgecam"] [data-role="motion"]').waitFor();
  await publisher.publishAsync(topics.event('badgecam'), JSON.stringify({ ...start, state: 'end', end: Date.now() }), {
    qos: 1,
    retain: true,
  });
  await page.locator('[data-camera="badgecam"] [data-role="motion"]').waitFor({ state: 'hidden' });
  await publisher.publishAsync(
    topics.recording('badgecam'),
    JSON.stringify({ ...status, state: 'disk-full', lastError: 'no space left on device' }),
    {
      qos: 1,
      retain: true,
    },
  );
  await page
    .locator('[data-role="recorder-status"][data-state="disk-full"]')
    .filter({ hasText: 'last error: no space left on device' })
    .waitFor();
  // A recorder killed with -9 leaves its last state retained: a minute later the tile stops claiming it records.
  await publisher.publishAsync(topics.recording('badgecam'), JSON.stringify({ ...status, updatedAt: Date.now() - 120_000 }), {
    qos: 1,
    retain: true,
  });
  await page.locator('[data-camera="badgecam"] [data-role="recorder"][data-state="silent"]').filter({ hasText: 'rec ?' }).waitFor();
  await page.close();
});

/** The value an <input type="datetime-local"> holds for `ms`, in this machine's time zone (the browser's too). */
function localInput(ms: number): string {
  const date = new Date(ms);
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
