/**
 * Starts the bundled broker (built: `tsc -b broker`) in its conformance configuration, for
 * third-party MQTT test suites: anonymous clients allowed, the rules of broker/conformance/acl
 * (everything except subscribing to test/nosubscribe), plain MQTT only, no accounts.
 *
 *   npm run broker:conformance                       # mqtt://127.0.0.1:1883
 *   BROKER_MQTT_PORT=1884 npm run broker:conformance
 *
 * Settings already in the environment win (BROKER_HOST, BROKER_MQTT_PORT, LOG_LEVEL, ...); the
 * ones that make it the conformance configuration are always set.
 */
import { fileURLToPath } from 'node:url';

const repo = new URL('../', import.meta.url);
const conformance: Record<string, string> = {
  BROKER_ALLOW_ANONYMOUS: 'true',
  BROKER_ACL_FILE: fileURLToPath(new URL('broker/conformance/acl', repo)),
  // No provisioning, accounts or TLS: empty values stop a developer's .env from adding them.
  BROKER_PROVISION_DIR: '',
  BROKER_USERS_FILE: '',
  BROKER_TLS_CERT_FILE: '',
  BROKER_TLS_KEY_FILE: '',
};
Object.assign(process.env, conformance);
process.env.BROKER_HTTP_PORT ??= '0';

// The broker's entry point starts the service when imported.
await import(new URL('broker/dist/main.js', repo).href);
