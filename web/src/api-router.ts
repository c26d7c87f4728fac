/**
 * /api: the camera list, snapshots, MJPEG streams and control commands. Everything here sits
 * behind the access guard (access-guard.ts).
 */
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import {
  capControlCommand,
  type ControlCommand,
  type ControlLimits,
  InvalidCommandError,
  isCameraId,
  validateControlCommand,
} from '@camqtt/wire';
import type { BrokerIntake } from './broker-intake.js';
import type { CameraDirectory } from './camera-directory.js';
import type { FrameHub } from './frame-hub.js';
import type { MjpegStreams } from './mjpeg-streams.js';
import type { ViewerAccess } from './viewer-access.js';

export interface ApiRouterOptions {
  directory: CameraDirectory;
  hub: FrameHub;
  /** Sends the control commands. */
  intake: BrokerIntake;
  mjpeg: MjpegStreams;
  /** Also decides who may send control commands (VIEWER_CONTROL, VIEWER_CONTROL_USERS). */
  access: ViewerAccess;
  /** VIDEO_MAX_WIDTH/HEIGHT/FPS: commands asking for more are capped before they are sent. */
  controlLimits: ControlLimits;
  log: Logger;
}

export function apiRouter(options: ApiRouterOptions): express.Router {
  const { directory, hub, intake, mjpeg, access, controlLimits, log } = options;
  const router = express.Router();

  /** A camera the relay knows, by status or by a frame; otherwise answers 404 and returns undefined. */
  const knownCamera = (request: Request, response: Response): string | undefined => {
    const camera = String(request.params.id ?? '');
    if (isCameraId(camera) && (directory.get(camera) !== undefined || hub.latest(camera) !== undefined)) return camera;
    response.status(404).json({ error: `no camera ${JSON.stringify(camera)}` });
    return undefined;
  };

  router.get('/cameras', (_request, response) => {
    response.json(directory.list());
  });

  router.get('/cameras/:id/snapshot.jpg', (request, response) => {
    const camera = request.params.id;
    const frame = isCameraId(camera) ? hub.latest(camera) : undefined;
    if (!frame) {
      response.status(404).json({ error: `no frame from ${JSON.stringify(camera)} yet` });
      return;
    }
    const taken = new Date(frame.receivedAt).toISOString().replace(/[:.]/g, '-');
    response
      .set({
        'Content-Type': 'image/jpeg',
        'Cache-Control': 'no-store',
        'Content-Disposition': `inline; filename="${camera}-${taken}.jpg"`,
        'Last-Modified': new Date(frame.receivedAt).toUTCString(),
      })
      .send(frame.jpeg);
  });

  router.get('/cameras/:id/stream.mjpg', (request, response) => {
    const camera = knownCamera(request, response);
    if (camera) mjpeg.add(camera, request, response, access.guard.identity(request));
  });

  // JSON only: a foreign page cannot send application/json without a CORS preflight, which this
  // relay never grants, so a logged-in browser cannot be made to send commands (CSRF).
  router.post('/cameras/:id/control', express.json({ limit: '4kb' }), async (request, response) => {
    const viewer = access.guard.identity(request);
    if (!viewer.canControl) {
      const why = access.control.disabled
        ? 'camera control is turned off on this relay (VIEWER_CONTROL=false)'
        : 'this viewer may not control cameras (VIEWER_CONTROL_USERS)';
      response.status(403).json({ error: why });
      return;
    }
    if (!request.is('application/json') || !access.origins.allows(request)) {
      response.status(415).json({ error: 'send the command as application/json from this site' });
      return;
    }
    const camera = knownCamera(request, response);
    if (!camera) return;
    // Checked with the wire contract's own validation before anything reaches the camera's
    // control topic: junk is never forwarded, and a bad body gets the reason the camera would give.
    let checked: ControlCommand;
    try {
      checked = validateControlCommand(request.body);
    } catch (error) {
      if (!(error instanceof InvalidCommandError)) throw error;
      response.status(400).json({ error: error.message });
      return;
    }
    // The camera caps again at its own limits and its source's size, and says so in its status.
    const { command, capped } = capControlCommand(checked, controlLimits, directory.get(camera));
    let answer;
    try {
      answer = await intake.sendControl(camera, command);
    } catch (error) {
      response.status(503).json({ error: `command not sent: ${error instanceof Error ? error.message : String(error)}` });
      return;
    }
    log.info(
      {
        camera,
        command,
        ...(capped.length > 0 ? { capped } : {}),
        user: viewer.user,
        remoteAddress: request.socket.remoteAddress,
        answered: answer !== undefined,
      },
      'control command sent',
    );
    // 200 with the camera's own answer (MQTT 5); 202 when none came: the camera applies it on its
    // next frame and says so in its status.
    response
      .status(answer ? 200 : 202)
      .json({ camera, sent: command, ...(capped.length > 0 ? { capped } : {}), ...(answer ? { answer } : {}) });
  });

  // A body that is not JSON (or too big) gets a JSON answer like every other mistake here.
  router.use((error: { status?: number; message?: string }, _request: Request, response: Response, next: express.NextFunction) => {
    if (response.headersSent || typeof error.status !== 'number' || error.status >= 500) {
      next(error);
      return;
    }
    response.status(error.status).json({ error: `bad request body: ${error.message ?? 'invalid'}` });
  });

  return router;
}
