/**
 * Real parts for the recorder tests: the bundled broker with provisioned accounts, a testsrc
 * publisher, the recorder process, an admin MQTT.js client that counts the frames published and
 * reads the recorder's states, and ffprobe.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectAsync, type MqttClient } from 'mqtt';
import { readFrameMeta, recordingStatusSchema, segmentEntrySchema, Topics, type RecordingStatus, type SegmentEntry } from '@camqtt/wire';
import { ServiceProcess, startBroker, waitFor } from '@camqtt/test-support';

const run = promisify(execFile);
export const topics = new Topics('camqtt');

export interface Harness {
  broker: ServiceProcess;
  clientEnv(user: string): Record<string, string>;
  password(user: string): Promise<string>;
  mqttsUrl: string;
  caFile: string;
}

export async function startHarness(provisionDir: string, cameras: string[]): Promise<Harness> {
  const accounts = [...cameras.map((camera) => `${camera}:camera`), 'recorder:recorder', 'admin:admin'].join(',');
  const broker = startBroker(provisionDir, accounts);
  const mqtts = await broker.port('mqtts');
  const caFile = join(provisionDir, 'tls', 'ca.crt');
  const mqttsUrl = `mqtts://localhost:${mqtts}`;
  return {
    broker,
    mqttsUrl,
    caFile,
    clientEnv: (user) => ({
      MQTT_URL: mqttsUrl,
      MQTT_CA_FILE: caFile,
      MQTT_USERNAME: user,
      MQTT_PASSWORD_FILE: join(provisionDir, 'passwords', user),
    }),
    password: async (user) => (await readFile(join(provisionDir, 'passwords', user), 'utf8')).trim(),
  };
}

export function startPublisher(harness: Harness, camera: string, env: Record<string, string> = {}): ServiceProcess {
  return ServiceProcess.start(
    'publisher',
    { ...harness.clientEnv(camera), CAMERA_ID: camera, CAMERA_SOURCE: 'testsrc', LOG_LEVEL: 'info', HA_DISCOVERY: 'false', ...env },
    [],
    { label: `publisher-${camera}` },
  );
}

export async function startRecorder(harness: Harness, recordDir: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
  const recorder = ServiceProcess.start('recorder', {
    ...harness.clientEnv('recorder'),
    RECORD_DIR: recordDir,
    RECORD_METRICS_PORT: '0',
    ...env,
  });
  await recorder.waitForLog((line) => line.msg === 'connected to the MQTT broker');
  return recorder;
}

export interface SeenFrame {
  camera: string;
  seq: number;
  captureTime: number;
}

/** The admin's view of the broker: every frame published (with its metadata) and the recorder's states. */
export class Watcher {
  readonly frames: SeenFrame[] = [];
  readonly states: RecordingStatus[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      const parsed = topics.parse(topic);
      if (parsed?.kind === 'frame') {
        const meta = readFrameMeta(payload);
        if (meta) this.frames.push({ camera: parsed.camera, seq: meta.seq, captureTime: meta.captureTime });
      } else if (parsed?.kind === 'recording' && payload.length > 0) {
        this.states.push(recordingStatusSchema.parse(JSON.parse(payload.toString('utf8'))));
      }
    });
  }

  static async connect(harness: Harness): Promise<Watcher> {
    const client = await connectAsync(harness.mqttsUrl, {
      username: 'admin',
      password: await harness.password('admin'),
      ca: await readFile(harness.caFile),
      clientId: `test-watch-${Math.random().toString(16).slice(2)}`,
    });
    await client.subscribeAsync([topics.all('frame'), topics.all('recording')], { qos: 0 });
    return new Watcher(client);
  }

  async control(camera: string, command: object): Promise<void> {
    await this.client.publishAsync(topics.control(camera), JSON.stringify(command), { qos: 1 });
  }

  async state(camera: string, match: (status: RecordingStatus) => boolean, timeoutMs = 20_000): Promise<RecordingStatus> {
    return await waitFor(`recording state of ${camera}`, () => this.states.find((s) => s.camera === camera && match(s)), timeoutMs);
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

/** Every SegmentEntry of a camera, over all days. */
export async function segmentEntries(recordDir: string, camera: string): Promise<SegmentEntry[]> {
  const entries: SegmentEntry[] = [];
  const days = await readdir(join(recordDir, camera)).catch(() => [] as string[]);
  for (const day of days.sort()) {
    const text = await readFile(join(recordDir, camera, day, 'segments.jsonl'), 'utf8').catch(() => '');
    for (const line of text.split('\n').filter(Boolean)) entries.push(segmentEntrySchema.parse(JSON.parse(line)));
  }
  return entries;
}

/** Every .mp4 of a camera, oldest first (their names are start times). */
export async function segmentFiles(recordDir: string, camera: string): Promise<string[]> {
  const files: string[] = [];
  const days = await readdir(join(recordDir, camera)).catch(() => [] as string[]);
  for (const day of days.sort()) {
    const names = await readdir(join(recordDir, camera, day)).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith('.mp4')).sort()) files.push(join(recordDir, camera, day, name));
  }
  return files;
}

export interface Probe {
  codec: string;
  width: number;
  height: number;
  duration: number;
  /** Presentation times of the packets, in s, in file order. */
  pts: number[];
}

export async function probe(file: string): Promise<Probe> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-select_streams', 'v:0', '-of', 'json'],
    ...['-show_entries', 'stream=codec_name,width,height:format=duration:packet=pts_time', file],
  ]);
  const json = JSON.parse(stdout) as {
    streams: Array<{ codec_name: string; width: number; height: number }>;
    format: { duration?: string };
    packets: Array<{ pts_time: string }>;
  };
  const stream = json.streams[0]!;
  return {
    codec: stream.codec_name,
    width: stream.width,
    height: stream.height,
    duration: Number(json.format.duration),
    pts: json.packets.map((packet) => Number(packet.pts_time)),
  };
}
