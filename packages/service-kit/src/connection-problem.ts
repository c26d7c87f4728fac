/**
 * Why an MQTT client cannot reach its broker, in words a user can act on: what went wrong and
 * which setting to check. The relay shows it on the page and in /healthz; both services log it.
 * MQTT.js reports TLS and socket failures with Node's error codes, and a refused CONNECT with
 * the CONNACK's return code (3.1.1) or reason code (5) as a number.
 */

const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);
/** CONNACK codes for a wrong user name or password: 3.1.1 return code 4, MQTT 5 reason 0x86. */
const BAD_LOGIN = new Set([4, 0x86]);
/** Not authorized: 3.1.1 return code 5, MQTT 5 reason 0x87. */
const NOT_AUTHORIZED = new Set([5, 0x87]);

/** The broker's address without credentials or query, for messages. */
export function brokerAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'the broker';
  }
}

/** One sentence: what failed, and what to check. */
export function explainConnectionError(error: Error & { code?: unknown }, url: string, username?: string): string {
  const at = brokerAddress(url);
  const code = error.code;
  const account = username ? `"${username}"` : 'anonymous';
  if (typeof code === 'number' && BAD_LOGIN.has(code)) {
    return `the broker at ${at} refused the login of ${account}: bad user name or password; check MQTT_USERNAME and MQTT_PASSWORD (or MQTT_PASSWORD_FILE), then restart`;
  }
  if (typeof code === 'number' && NOT_AUTHORIZED.has(code)) {
    return `the broker at ${at} refused ${account}: not authorized; check MQTT_USERNAME and the broker's accounts, then restart`;
  }
  if (typeof code === 'number') return `the broker at ${at} refused the connection: ${error.message}`;
  if (typeof code === 'string' && UNTRUSTED_CERTIFICATE.has(code)) {
    return `cannot reach the broker at ${at}: its certificate is not trusted (${error.message}); check MQTT_CA_FILE`;
  }
  switch (code) {
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `cannot reach the broker at ${at}: its certificate is not valid for this host name (${error.message}); check the host in MQTT_URL (the bundled broker's names: BROKER_TLS_HOSTNAMES)`;
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return `cannot reach the broker at ${at}: ${error.message}; check the broker's certificate and this machine's clock`;
    case 'ECONNREFUSED':
      return `nothing answers at ${at} (connection refused): is the broker running? check MQTT_URL`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot find the host of ${at} (${code}); check MQTT_URL`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no answer from ${at} (${code}); check MQTT_URL and any firewall on the way`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the broker at ${at} closed the connection (${code}); if it does so at every attempt, check that MQTT_URL's scheme matches the port (mqtts:// for TLS)`;
    default:
      return `cannot reach the broker at ${at}: ${error.message}`;
  }
}
