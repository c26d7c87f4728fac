/**
 * The compose stack with its default camera, /dev/video0, where there is none: the emulated V4L2
 * camera of services/publisher/test/v4l2-emulator/ goes under the publisher container by the
 * override file v4l2-camera.yml (the library built here, bind-mounted, and LD_PRELOAD). Checked
 * through the relay's API: the camera settled on MJPG, and its JPEGs arrive byte for byte.
 * Needs a running Docker engine, like compose.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EmulatedCamera, buildEmulator, withoutComments } from '../../services/publisher/test/v4l2-camera.js';
import { ComposeProject, freePort, waitUntil } from './compose-project.js';

const OVERRIDE = ['-f', 'docker-compose.yml', '-f', 'test/compose/v4l2-camera.yml'];

/** The container runs as uid 1000: everything readable, the control folder writable (its event log). */
function shareWithContainer(dir: string): void {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) shareWithContainer(file);
    else chmodSync(file, 0o644);
  }
}

/**
 * fetch with a deadline on a timer that holds the event loop. A request sent the moment compose
 * published the port can get no answer at all (the proxy took it before the relay listened), and
 * undici holds no reference on such a socket: without a timer of our own the loop ran empty and
 * the test runner cancelled the test.
 */
async function fetchWithin(url: string, timeoutMs = 5000): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(url, { signal: controller.signal });
    await response.clone().arrayBuffer();
    return response;
  } finally {
    clearTimeout(timer);
  }
}

interface CameraStatus {
  camera: string;
  source?: string;
  sourceFormat?: string;
  sourceWidth?: number;
  sourceHeight?: number;
  passthrough?: boolean;
  error?: string;
}

describe('docker compose up with the default CAMERA_SOURCE (/dev/video0), an emulated camera', () => {
  let project: ComposeProject;
  let camera: EmulatedCamera;
  let base = '';

  before(async () => {
    assert.equal(
      spawnSync('docker', ['info'], { stdio: 'ignore' }).status,
      0,
      'a Docker engine must be running (../shared/docker/engine.sh up)',
    );
    // The image is Debian bookworm like CI's machine, so the library built here loads in it.
    camera = new EmulatedCamera(buildEmulator(), { jpegSizes: ['640x480'] });
    copyFileSync(camera.library, path.join(camera.dir, 'libcamqtt-v4l2-emu.so'));
    shareWithContainer(camera.dir);
    chmodSync(camera.controlDir, 0o777);
    const ports = { WEB_PORT: String(await freePort()), BROKER_MQTTS_PORT: String(await freePort()) };
    base = `http://127.0.0.1:${ports.WEB_PORT}`;
    // .env.example as it is (CAMERA_SOURCE empty: /dev/video0), but for the host device compose
    // hands over, which must exist: the README's /dev/null of a machine without a camera.
    project = new ComposeProject({ CAMERA_DEVICE: '/dev/null' }, { ...process.env, ...ports, CAMQTT_V4L2_EMU_DIR: camera.dir });
    await project.compose([...OVERRIDE, 'build', '--parallel']);
    await project.compose([...OVERRIDE, 'up', '-d']);
  });

  after(async () => {
    if (project) {
      const logs = await project
        .compose([...OVERRIDE, 'logs', '--no-color', '--tail', '20', 'publisher'])
        .catch((error: unknown) => String(error));
      process.stdout.write(`# publisher logs (tail)\n${logs.replace(/^/gm, '# ')}\n`);
      await project.down();
    }
    camera?.remove();
  });

  test("the publisher opens /dev/video0, settles on MJPG 640x480, and the relay serves the camera's own JPEGs", async () => {
    const status = await waitUntil(
      'cam1 streams from the emulated camera',
      async () => {
        const response = await fetchWithin(`${base}/api/cameras`).catch(() => undefined);
        if (!response?.ok) return undefined;
        const cameras = (await response.json()) as CameraStatus[];
        return cameras.find((c) => c.camera === 'cam1' && c.sourceFormat !== undefined && c.passthrough === true);
      },
      180_000,
    );
    assert.deepEqual(
      [status.source, status.sourceFormat, status.sourceWidth, status.sourceHeight, status.error],
      ['/dev/video0', 'MJPG', 640, 480, undefined],
    );
    const snapshot = Buffer.from(await (await fetchWithin(`${base}/api/cameras/cam1/snapshot.jpg`)).arrayBuffer());
    const served = camera.jpegs.get('640x480')!;
    assert.ok(
      served.some((jpeg) => jpeg.equals(withoutComments(snapshot))),
      "the snapshot is one of the emulated camera's JPEGs, byte for byte",
    );
    // The emulator ran inside the container (its log is written by the container's capture helper).
    const streamOn = await camera.event((e) => e.event === 'streamon');
    assert.equal(streamOn.fps, 30, ".env.example's VIDEO_FPS, which the camera offers");
  });
});
