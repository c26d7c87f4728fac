import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ConfigError, loadConfig, settings, type SettingName } from '../src/index.js';

test('defaults apply when a variable is unset or empty', () => {
  const config = loadConfig(['VIDEO_FPS', 'CAMERA_SOURCE', 'BROKER_ALLOW_ANONYMOUS'], { VIDEO_FPS: '' });
  assert.deepEqual(config, { VIDEO_FPS: 30, CAMERA_SOURCE: '/dev/video0', BROKER_ALLOW_ANONYMOUS: false });
});

test('values are parsed to their types', () => {
  const config = loadConfig(['VIDEO_WIDTH', 'BROKER_ALLOW_ANONYMOUS', 'MQTT_URL'], {
    VIDEO_WIDTH: ' 1280 ',
    BROKER_ALLOW_ANONYMOUS: 'true',
    MQTT_URL: 'mqtts://example.com:8883',
  });
  assert.deepEqual(config, { VIDEO_WIDTH: 1280, BROKER_ALLOW_ANONYMOUS: true, MQTT_URL: 'mqtts://example.com:8883' });
});

test('a wrong value gives one line naming the variable, the rule and the value', () => {
  const cases: Array<[SettingName, string, RegExp]> = [
    ['VIDEO_FPS', 'abc', /^VIDEO_FPS must be a number \(got "abc"\)$/],
    ['VIDEO_FPS', '1000', /^VIDEO_FPS must be at most 120/],
    ['JPEG_QUALITY', '7.5', /^JPEG_QUALITY must be a whole number/],
    ['MQTT_URL', 'http://x', /^MQTT_URL must be an mqtt:\/\//],
    ['CAMERA_ID', 'a/b', /^CAMERA_ID must be 1-64 letters/],
    ['BROKER_ALLOW_ANONYMOUS', 'maybe', /^BROKER_ALLOW_ANONYMOUS must be true or false/],
    ['LOG_LEVEL', 'loud', /^LOG_LEVEL must be one of/],
    ['WEB_ALLOWED_HOSTS', 'cams.lan,http://x', /^WEB_ALLOWED_HOSTS must be host names or addresses without scheme or port/],
    ['WEB_ALLOWED_HOSTS', 'cams.lan:8080', /^WEB_ALLOWED_HOSTS must be host names/],
    ['WEB_TRUST_PROXY', 'the nginx one', /^WEB_TRUST_PROXY must be true, false, a number of hops/],
  ];
  for (const [name, value, message] of cases) {
    assert.throws(
      () => loadConfig([name], { [name]: value }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      },
    );
  }
});

test('.env.example documents every setting with its default', () => {
  const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
  for (const [name, spec] of Object.entries(settings)) {
    const line = example.split('\n').find((l) => l.startsWith(`${name}=`));
    assert.ok(line, `.env.example has a ${name}= line`);
    const value = line.slice(name.length + 1);
    assert.ok(value === spec.default || value === '', `${name} in .env.example (${value}) is its default (${spec.default}) or empty`);
  }
});
