/**
 * `cp .env.example .env` changes nothing: every line of .env.example, copied as it is, keeps the
 * default, for the services (npm start reads .env directly) and for docker compose (which puts
 * .env's values into docker-compose.yml's `${...}` expressions). And every setting is documented.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'dotenv';
import { loadConfig, settings, type SettingName } from '@camqtt/service-kit';
import { repoRoot } from '@camqtt/test-support';

const exampleText = readFileSync(`${repoRoot}.env.example`, 'utf8');
const example = parse(exampleText);
/** A line `NAME=...` in .env.example, commented out or not. */
const documented = (name: string): boolean => new RegExp(`^#? ?${name}=`, 'm').test(exampleText);
/** docker-compose.yml without its comments (which show expressions as examples). */
const composeText = readFileSync(`${repoRoot}docker-compose.yml`, 'utf8')
  .split('\n')
  .filter((line) => !line.trimStart().startsWith('#'))
  .join('\n');
/** Lines of .env.example that are not service settings: read by docker compose alone. */
const COMPOSE_ONLY = new Set(['CAMERA_DEVICE']);

function isSetting(name: string): name is SettingName {
  return Object.hasOwn(settings, name);
}

test("every line of .env.example names a setting, and its value is the setting's default", () => {
  assert.ok(Object.keys(example).length > 40, 'the file was read');
  for (const [name, value] of Object.entries(example)) {
    if (COMPOSE_ONLY.has(name)) continue;
    assert.ok(isSetting(name), `${name} in .env.example is a setting of packages/service-kit/src/settings.ts`);
    assert.deepEqual(loadConfig([name], { [name]: value }), loadConfig([name], {}), `${name}=${value} means the same as leaving it unset`);
  }
});

test('every setting is documented in .env.example', () => {
  for (const name of Object.keys(settings)) assert.ok(documented(name), `${name} has a line in .env.example`);
});

test("docker-compose.yml reads .env only as ${NAME:-...}, and .env.example's values give compose its defaults", () => {
  const expressions = [...composeText.matchAll(/\$\{([^}]*)\}/g)].map((match) => match[1]!);
  assert.ok(expressions.length > 30, 'the compose file was read');
  for (const expression of expressions) {
    // `${NAME-x}` or `${NAME}` would turn an empty line of .env into an empty value instead of the default.
    const parts = /^([A-Z0-9_]+):-(.*)$/.exec(expression);
    assert.ok(parts, `\${${expression}} uses the :- form, so an empty value means the default`);
    const [, name, composeDefault] = parts as unknown as [string, string, string];
    assert.ok(documented(name), `${name} is documented in .env.example`);
    const exampleValue = example[name] ?? '';
    if (exampleValue === '') continue;
    if (composeDefault === '') {
      // The service gets .env.example's value instead of nothing: checked above to mean its default.
      assert.ok(isSetting(name), `${name} is a setting`);
    } else {
      assert.equal(exampleValue, composeDefault, `.env.example's ${name} equals compose's default in \${${expression}}`);
    }
  }
});

test('compose restates no service default: a setting passed as ${NAME:-x} has x empty, or x is what differs in a container', () => {
  // Each with its reason: the broker's address on the compose network, secrets at the mount point.
  const containerValues: Record<string, string[]> = {
    MQTT_URL: ['mqtts://broker:8883'],
    MQTT_PASSWORD_FILE: ['/secrets/password'],
    MQTT_CA_FILE: ['/secrets/ca.crt'],
    MQTT_USERNAME: ['relay', 'recorder'],
  };
  for (const match of composeText.matchAll(/^\s+([A-Z0-9_]+): \$\{([A-Z0-9_]+):-([^}]*)\}$/gm)) {
    const [, key, name, composeDefault] = match as unknown as [string, string, string, string];
    assert.equal(key, name, `${key} is passed under its own name`);
    if (composeDefault === '') continue;
    assert.ok(
      containerValues[name]?.includes(composeDefault),
      `${name}: compose's default ${JSON.stringify(composeDefault)} is the service's own (leave it empty) or a container value listed here`,
    );
  }
});
