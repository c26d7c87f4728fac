/**
 * The cluster as a user deploys it (docker-compose.cluster.yml), as real processes on loopback:
 * Debian's Redis, two brokers joined through it, two relays, and Debian's HAProxy in front of the
 * brokers (TCP) and of the relays (HTTP + WebSocket). A real publisher (test pattern) lands on
 * broker A, a WebSocket viewer on relay B, whose MQTT link is on broker B: every frame crosses the
 * cluster. Then one member of each tier is killed with -9 in turn; the camera and the viewer must
 * come back through a survivor by themselves, and the camera's retained status must stay right.
 * Recovery times are printed (the aim is 3 s); the assertions only bound them loosely.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { CAMERA_CLIENT_ID_PREFIX, Topics, parseCameraStatus, type CameraStatus } from '@camqtt/wire';
import { LoopbackCluster, ReconnectingViewer, ServiceProcess, waitFor, type ClusterMember } from '@camqtt/test-support';

const CAMERA = 'cam1';
const FPS = 15;
const topics = new Topics('camqtt');
/** Loose: the aim is 3 s; this only catches a cluster that does not recover by itself. */
const RECOVERY_BOUND_MS = 15_000;

const connectedHere = (member: ClusterMember, clientId: string, after: number): boolean =>
  member.process.lines.some((line) => line.msg === 'client connected' && line.clientId === clientId && (line.time ?? 0) >= after);

describe('a cluster: two brokers on one Redis, two relays, HAProxy in front of each tier', () => {
  let cluster: LoopbackCluster;
  let publisher: ServiceProcess;
  let viewer: ReconnectingViewer;
  let watcher: MqttClient;
  /** Every status of the camera the watcher saw, in order, with when. */
  const statuses: Array<{ at: number; status: CameraStatus }> = [];
  /** Heartbeats the watcher saw, by broker id. */
  const heartbeats: Array<{ at: number; broker: string }> = [];
  const recoveries: Record<string, number> = {};

  before(async () => {
    // As docker-compose.cluster.yml runs them: relays take only the frames their viewers watch.
    cluster = await LoopbackCluster.start({ brokers: 2, relays: 2, cameras: [CAMERA], relayEnv: { WEB_FRAMES_WATCHED_ONLY: 'true' } });
    publisher = ServiceProcess.start('publisher', {
      ...cluster.clientEnv(CAMERA, cluster.ports.cameras),
      CAMERA_ID: CAMERA,
      CAMERA_SOURCE: 'testsrc',
      VIDEO_WIDTH: '320',
      VIDEO_HEIGHT: '240',
      VIDEO_FPS: String(FPS),
    });
    viewer = new ReconnectingViewer(`ws://127.0.0.1:${cluster.ports.web}/ws`, [CAMERA]);
    viewer.start();
    // An admin watching statuses and the brokers' heartbeats through the spreading frontend.
    watcher = await mqtt.connectAsync(`mqtts://localhost:${cluster.ports.mqtts}`, {
      ca: await readFile(cluster.caFile),
      username: 'admin',
      password: await cluster.password('admin'),
      reconnectPeriod: 250,
    });
    watcher.on('message', (topic, payload) => {
      if (topic === topics.status(CAMERA)) {
        const parsed = parseCameraStatus(payload);
        if ('status' in parsed) statuses.push({ at: Date.now(), status: parsed.status });
      } else if (topic.endsWith('/heartbeat')) heartbeats.push({ at: Date.now(), broker: topic.split('/')[1]! });
    });
    await watcher.subscribeAsync([topics.status(CAMERA), '$SYS/+/heartbeat']);
  });

  after(async () => {
    console.log(`cluster recovery (kill -9 -> frames again at the viewer): ${JSON.stringify(recoveries)}`);
    viewer?.stop();
    await watcher?.endAsync(true);
    await publisher?.stop();
    await cluster?.stop();
  });

  /** Kills `member` with -9 and measures until the viewer has had frames for a second again. */
  async function killAndRecover(label: string, member: ClusterMember): Promise<number> {
    const killedAt = Date.now();
    cluster.kill(member);
    await waitFor(
      `frames at the viewer after ${label}`,
      () => viewer.framesSince(CAMERA, killedAt + 500).length >= FPS,
      RECOVERY_BOUND_MS + 5000,
    );
    const gap = viewer.longestGap(CAMERA, killedAt - 1000, Date.now());
    recoveries[label] = gap;
    console.log(`${label}: the viewer went ${gap} ms without a frame`);
    assert.ok(gap < RECOVERY_BOUND_MS, `${label}: back within ${RECOVERY_BOUND_MS} ms (went ${gap} ms without a frame)`);
    return gap;
  }

  const [brokerA, brokerB] = [0, 1];
  const cameraClientId = `${CAMERA_CLIENT_ID_PREFIX}${CAMERA}`;

  test('a camera on broker A reaches a viewer on relay B, whose link is on broker B: every frame, and the retained status', async () => {
    await waitFor('the camera on broker A', () => connectedHere(cluster.brokers[brokerA]!, cameraClientId, 0), 20_000);
    await waitFor(
      'both relays on broker B',
      () =>
        cluster.brokers[brokerB]!.process.lines.filter((l) => l.msg === 'client connected' && String(l.clientId).startsWith('camqtt-web-'))
          .length >= 2,
    );
    await waitFor('60 frames at the viewer', () => viewer.framesSince(CAMERA, 0).length >= 60, 30_000);
    const seqs = viewer.framesSince(CAMERA, 0).map((f) => f.seq);
    for (let i = 1; i < seqs.length; i += 1) assert.equal(seqs[i], seqs[i - 1]! + 1, `frame ${seqs[i - 1]! + 1} reached the viewer`);
    // The relay B read the status the camera retained through broker A, from Redis via broker B.
    assert.equal(viewer.statuses.get(CAMERA)?.online, true, 'the viewer sees the camera online');
    // And a fresh client on broker B gets it as a retained message.
    const direct = await mqtt.connectAsync(`mqtts://localhost:${cluster.brokers[brokerB]!.ports.mqtts}`, {
      ca: await readFile(cluster.caFile),
      username: 'admin',
      password: await cluster.password('admin'),
      reconnectPeriod: 0,
    });
    try {
      const retained = new Promise<CameraStatus>((resolve) =>
        direct.on('message', (_topic, payload, packet) => {
          const parsed = parseCameraStatus(payload);
          if (packet.retain && 'status' in parsed) resolve(parsed.status);
        }),
      );
      await direct.subscribeAsync(topics.status(CAMERA));
      assert.equal((await retained).online, true, 'broker B hands out the retained status broker A stored');
    } finally {
      await direct.endAsync(true);
    }
    const stats = await cluster.redisInfo('stats');
    console.log(
      `redis after ${seqs.length} frames: ${stats.total_net_input_bytes} bytes in, ${stats.total_net_output_bytes} bytes out, ${stats.total_commands_processed} commands`,
    );
  });

  test('kill -9 the camera’s broker: the camera comes back through broker B by itself, the viewer keeps watching', async () => {
    const killedAt = Date.now();
    await killAndRecover('broker A (the camera’s)', cluster.brokers[brokerA]!);
    assert.ok(connectedHere(cluster.brokers[brokerB]!, cameraClientId, killedAt), 'the camera reconnected to broker B');
    await cluster.restart(cluster.brokers[brokerA]!);
  });

  test('kill -9 the viewer’s relay: the viewer comes back through relay A by itself', async () => {
    const opensBefore = viewer.opens;
    await killAndRecover('relay B (the viewer’s)', cluster.relays[1]!);
    assert.ok(viewer.opens > opensBefore, 'the viewer reconnected');
    await cluster.restart(cluster.relays[1]!);
  });

  test('kill -9 the broker holding the camera and the relays now: all of them come back through broker A', async () => {
    const killedAt = Date.now();
    await killAndRecover('broker B (the camera’s and the relays’)', cluster.brokers[brokerB]!);
    assert.ok(connectedHere(cluster.brokers[brokerA]!, cameraClientId, killedAt), 'the camera reconnected to broker A');
    await cluster.restart(cluster.brokers[brokerB]!);
  });

  test('the camera’s retained status stays "online": the dead brokers’ wills are not published after it came back', async () => {
    // Aedes publishes a dead broker's wills once it has missed 3 heartbeats, from a sweep every
    // 4 heartbeats: 8 of the survivor's heartbeats (only it beats now) cover that.
    const from = heartbeats.length;
    await waitFor(
      "the survivor's will sweep",
      () => {
        const beats = new Map<string, number>();
        for (const { broker } of heartbeats.slice(from)) beats.set(broker, (beats.get(broker) ?? 0) + 1);
        return Math.max(0, ...beats.values()) >= 8;
      },
      40_000,
    );
    const offline = statuses.filter((s) => !s.status.online);
    assert.deepEqual(offline, [], 'no status said the camera was offline');
    assert.equal(statuses.at(-1)?.status.online, true, 'the last status says online');
    assert.equal(viewer.statuses.get(CAMERA)?.online, true, 'the viewer still sees the camera online');
  });

  test('kill -9 Redis: the brokers stay up and say so on /healthz, and everything flows again once Redis is back', async () => {
    const healthz = async (member: ClusterMember): Promise<number> => (await fetch(`http://127.0.0.1:${member.ports.http}/healthz`)).status;
    cluster.redis!.child.kill('SIGKILL');
    await waitFor('both brokers to report Redis unreachable', async () =>
      (await Promise.all(cluster.brokers.map(healthz))).every((s) => s === 503),
    );
    assert.ok(
      cluster.brokers.every((b) => !b.process.exited),
      'no broker ended',
    );
    const restartedAt = Date.now();
    await cluster.restartRedis();
    await waitFor('frames at the viewer again', () => viewer.framesSince(CAMERA, restartedAt).length >= FPS, RECOVERY_BOUND_MS + 5000);
    const back = viewer.framesSince(CAMERA, restartedAt)[0]!.at - restartedAt;
    recoveries['Redis restarted'] = back;
    console.log(`Redis restarted: frames at the viewer ${back} ms after it was started again`);
    await waitFor('both brokers healthy again', async () => (await Promise.all(cluster.brokers.map(healthz))).every((s) => s === 200));
    // Redis kept nothing: the camera's next status (every STATUS_INTERVAL_S, 5 s) is retained again.
    await waitFor('the status retained again', async () => (await cluster.redisCommand('hlen', 'retained')) !== 0, 15_000);
    assert.equal(statuses.at(-1)?.status.online, true, 'the last status says online');
  });
});
