/**
 * Every variable of .env.example, set to a non-default value in .env, reaches the service that
 * reads it in the configuration docker compose renders (`docker compose config`), or is one that
 * compose sets itself for a reason named here. What each value then does is each service's own
 * tests' business; compose.test.ts runs a stack with the ones a user sees.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'dotenv';
import { loadConfig, settings, type SettingName } from '@camqtt/service-kit';
import { repoRoot } from '@camqtt/test-support';
import { ComposeProject } from './compose-project.js';

/** Values for the text settings (numbers and booleans get theirs from their defaults). */
const TEXT_VALUES: Record<string, string> = {
  LOG_LEVEL: 'warn',
  TOPIC_PREFIX: 'home/cams',
  CAMERA_ID: 'door',
  CAMERA_SOURCE: 'rtsp://cam.example/stream',
  RECORD_MODE: 'motion',
  RECORD_CAMERAS: 'door',
  RECORD_FORMAT: 'jpeg',
  MQTT_URL: 'mqtts://mqtt.example.com:8883',
  MQTT_USERNAME: 'alice',
  MQTT_PASSWORD: 'a-password',
  MQTT_PASSWORD_FILE: '/run/mqtt-password',
  MQTT_CA_FILE: '/run/ca.crt',
  BROKER_HOST: '0.0.0.0',
  BROKER_MQTT_PORT: '1884',
  BROKER_TLS_CERT_FILE: '/run/server.crt',
  BROKER_TLS_KEY_FILE: '/run/server.key',
  BROKER_USERS_FILE: '/run/users',
  BROKER_ACL_FILE: '/run/acl',
  BROKER_PROVISION_DIR: '/run/provision',
  BROKER_PROVISION_ACCOUNTS: 'door:camera,relay:relay,admin:admin',
  BROKER_PROVISION_EXPORT: 'door:/run/door',
  BROKER_TLS_HOSTNAMES: 'broker,cams.example',
  WEB_HOST: '0.0.0.0',
  WEB_ALLOWED_ORIGINS: 'https://cams.example',
  VIEWER_PASSWORD: 'a-viewer-password',
  VIEWER_PASSWORD_FILE: '/viewers/password',
  VIEWER_USERS_FILE: '/viewers/users',
  VIEWER_CONTROL_USERS: 'alice',
  VIEWER_CAMERA_USERS: 'alice',
  PUBLISHER_HEALTH_FILE: '/run/health',
  CAMERA_DEVICE: '/dev/video2',
  MQTT_PROTOCOL_VERSION: '4',
  HA_DISCOVERY_PREFIX: 'ha',
  WEB_PUBLIC_URL: 'https://cams.example',
  WEB_SECRET_FILE: '/run/web-secret',
  WEB_ALLOWED_HOSTS: 'cams.example',
  BROKER_REDIS_URL: 'redis://redis.example:6379',
  BROKER_REDIS_PASSWORD_FILE: '/run/redis-password',
  RECORD_DIR: '/srv/recordings',
  MOTION_MIN_AREA: '0.02',
  MOTION_MASK: '0,0,1,0.1',
};
/** Set by docker-compose.yml itself, whatever .env says, and why. */
const COMPOSE_OWN: Record<string, string> = {
  BROKER_HOST: 'a container listens on its own interface; `ports:` decides what the host exposes',
  WEB_HOST: 'a container listens on its own interface; `ports:` decides what the host exposes',
  BROKER_MQTT_PORT: 'compose runs TLS only (plain MQTT off)',
  BROKER_HTTP_PORT: '/healthz and /metrics stay inside the compose network',
  BROKER_PROVISION_DIR: "the broker's volume",
  BROKER_PROVISION_EXPORT: 'the per-service secret volumes',
  PUBLISHER_HEALTH_FILE: 'the healthcheck reads a fixed path',
  WEB_SECRET_FILE: "the relay's own volume",
  RECORD_DIR: 'the recordings volume (the recorder writes, the relay reads)',
  RECORD_METRICS_PORT: "the recorder's healthcheck reads a fixed port inside its container",
};

function nonDefault(name: string, defaultValue: string): string {
  if (name in TEXT_VALUES) return TEXT_VALUES[name]!;
  if (defaultValue === 'true' || defaultValue === 'false') return defaultValue === 'true' ? 'false' : 'true';
  if (/^\d+$/.test(defaultValue)) return String(Number(defaultValue) + 1);
  throw new Error(`no non-default value for ${name}: add one to TEXT_VALUES`);
}

test('docker compose config: each .env variable set to a non-default value reaches its service, or compose sets it for a stated reason', async () => {
  const example = parse(readFileSync(`${repoRoot}.env.example`, 'utf8'));
  const values: Record<string, string> = {};
  for (const [name, defaultValue] of Object.entries(example)) {
    const value = nonDefault(name, defaultValue);
    if (Object.hasOwn(settings, name)) {
      assert.notDeepEqual(
        loadConfig([name as SettingName], { [name]: value }),
        loadConfig([name as SettingName], {}),
        `${name}=${value} is valid and not the default`,
      );
    }
    values[name] = value;
  }
  const project = new ComposeProject(values, { ...process.env });
  try {
    const rendered = await project.compose(['config']);
    for (const [name, value] of Object.entries(values)) {
      if (name in COMPOSE_OWN) continue;
      if (name === 'CAMERA_DEVICE') {
        assert.match(rendered, /\/dev\/video2:\/dev\/video0/, 'CAMERA_DEVICE is the device handed to the publisher');
        continue;
      }
      if (name === 'WEB_PORT' || name === 'BROKER_MQTTS_PORT') {
        assert.match(rendered, new RegExp(`published: "?${value}"?|- ${value}:|${value}:(8080|8883)`), `${name} is the published port`);
        continue;
      }
      const escaped = value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      assert.match(rendered, new RegExp(`^ +${name}: ['"]?${escaped}['"]?$`, 'm'), `${name}=${value} reaches a service's environment`);
    }
  } finally {
    await project.down();
  }
});
