/** The bundled broker as tests and the bench run it: on 127.0.0.1, free ports, provisioned accounts. */

/** Environment for a broker on loopback that listens on free ports and provisions `accounts` into `provisionDir`. */
export function loopbackBrokerEnv(provisionDir: string, accounts: string): Record<string, string> {
  return {
    BROKER_HOST: '127.0.0.1',
    BROKER_MQTT_PORT: '0',
    BROKER_MQTTS_PORT: '0',
    BROKER_HTTP_PORT: '0',
    BROKER_PROVISION_DIR: provisionDir,
    BROKER_PROVISION_ACCOUNTS: accounts,
  };
}

/** BROKER_PROVISION_ACCOUNTS for these cameras plus the relay and an admin. */
export function stackAccounts(cameraIds: readonly string[]): string {
  return [...cameraIds.map((id) => `${id}:camera`), 'relay:relay', 'admin:admin'].join(',');
}
