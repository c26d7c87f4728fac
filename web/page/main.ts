/**
 * The camqtt viewer page: one tile per camera, fed by the relay's WebSocket at /ws.
 */
// First: it must run before the wire contract's status schemas are built (see the file).
import './zod-jitless.js';
import { BrowserCameraPanel } from './browser-camera-panel.js';
import { CameraGrid } from './camera-grid.js';
import { ClockOffset } from './clock-offset.js';
import { pickDecoder } from './frame-decoder.js';
import { RecordingsPanel } from './recordings-panel.js';
import { RelayConnection, type ConnectionState } from './relay-connection.js';
import { SingleViewBar } from './single-view-bar.js';
import type { BrokerLink } from '@camqtt/wire';

/** The relay is up but cannot reach the broker: say why, or no camera will ever appear. */
function showBrokerLink(banner: HTMLElement, link: BrokerLink | undefined): void {
  const problem = link && !link.connected ? link.problem : undefined;
  banner.hidden = problem === undefined;
  banner.textContent = problem === undefined ? '' : `The relay cannot reach the MQTT broker: ${problem}.`;
}

function showConnection(banner: HTMLElement, state: ConnectionState): void {
  banner.dataset.state = state.state;
  banner.hidden = state.state === 'open';
  if (state.state === 'connecting') banner.textContent = 'Connecting…';
  if (state.state === 'reconnecting')
    banner.textContent = `Connection to the relay lost, reconnecting in ${(state.retryInMs / 1000).toFixed(1)} s…`;
}

/**
 * A browser does not tell a page why a WebSocket was refused. Ask the relay: a session that has
 * ended (account removed, password changed, relay restarted) sends the page to the login form;
 * anything else (relay down) is left to the reconnecting.
 */
async function goToLoginIfLoggedOut(): Promise<void> {
  try {
    const answer = await fetch(new URL('session', window.location.href), { cache: 'no-store' });
    const session = (await answer.json()) as { loginRequired?: boolean; loggedIn?: boolean };
    if (!session.loginRequired || session.loggedIn !== false) return;
    const here = window.location.pathname + window.location.search + window.location.hash;
    window.location.assign(new URL(`login?next=${encodeURIComponent(here)}`, window.location.href).href);
  } catch {
    // The relay is unreachable: keep reconnecting.
  }
}

function required(id: string): HTMLElement {
  const node = document.getElementById(id);
  if (!node) throw new Error(`page is missing #${id}`);
  return node;
}

function requiredOf<T extends HTMLElement>(id: string, type: new () => T): T {
  const node = required(id);
  if (!(node instanceof type)) throw new Error(`page's #${id} is not a ${type.name}`);
  return node;
}

const banner = required('connection-banner');
const brokerBanner = required('broker-banner');
const logout = required('logout');
const clock = new ClockOffset();
const decoder = pickDecoder(new URLSearchParams(window.location.search).get('decoder'));
document.documentElement.dataset.decoder = decoder;
const browserCamera = new BrowserCameraPanel(
  {
    panel: required('browser-camera'),
    facing: requiredOf('browser-camera-facing', HTMLSelectElement),
    start: requiredOf('browser-camera-start', HTMLButtonElement),
    stop: requiredOf('browser-camera-stop', HTMLButtonElement),
    stats: required('browser-camera-stats'),
  },
  clock,
);
const bar = new SingleViewBar(required('single-bar'), () => cameras.close());
const recordings = new RecordingsPanel(
  requiredOf('recordings', HTMLDetailsElement),
  (playing) => cameras.setPlayback(playing),
  () => required('grid').dispatchEvent(new CustomEvent('resized')),
);
required('grid').before(recordings.player.element);
const cameras: CameraGrid = new CameraGrid(
  { grid: required('grid'), empty: required('empty'), count: required('camera-count') },
  clock,
  decoder,
  (selection) => connection.send({ type: 'select', cameras: selection }),
  (tile) => {
    bar.show(tile);
    recordings.show(tile?.camera);
    recordings.setRecorder(tile ? cameras.recorderOf(tile.camera) : undefined);
  },
);
const wsUrl = new URL('ws', window.location.href);
wsUrl.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
// Reconnecting after a failure is the connection's job; 'connecting' only shows the first time.
let everOpened = false;
const connection: RelayConnection = new RelayConnection(wsUrl.href, {
  onFrame: (frame) => cameras.onFrame(frame),
  onEvent: (event) => {
    if (event.type === 'hello') {
      clock.sample(event.serverTime);
      bar.setCanControl(event.canControl ?? false);
      logout.hidden = !event.loginRequired;
      showBrokerLink(brokerBanner, event.brokerLink);
      browserCamera.offer(event.browserCamera);
      recordings.setEnabled(event.recordings ?? false);
    }
    if (event.type === 'broker') showBrokerLink(brokerBanner, event.link);
    cameras.onEvent(event);
    const single = cameras.singleCamera;
    if (single !== undefined && (event.type === 'hello' || event.type === 'recording')) recordings.setRecorder(cameras.recorderOf(single));
    if (event.type === 'motion') recordings.onMotion(event.event);
  },
  onState: (state) => {
    if (state.state === 'open') {
      everOpened = true;
      cameras.onConnected();
    }
    if (state.state === 'connecting' && everOpened) return;
    showConnection(banner, state);
  },
  onRefused: () => void goToLoginIfLoggedOut(),
});
// Back/forward between the grid and a single view.
window.addEventListener('popstate', () => {
  const camera = new URLSearchParams(window.location.hash.slice(1)).get('camera');
  if (camera) cameras.open(camera);
  else cameras.close();
});
cameras.start();
connection.start();
