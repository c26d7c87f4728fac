/**
 * Makes a local CA and a server certificate signed by it, for a broker of your own (Mosquitto or
 * the bundled one with BROKER_TLS_CERT_FILE/KEY_FILE). Same code as the broker's provisioning.
 *
 *   node --import tsx scripts/gen-certs.ts <folder> [name-or-ip ...]
 *
 * Writes <folder>/ca.crt, ca.key, server.crt, server.key (keys mode 0600). Names default to
 * localhost and 127.0.0.1. An existing CA in the folder is reused; existing server files are never
 * overwritten (remove them first to make new ones). Clients trust ca.crt (MQTT_CA_FILE).
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCertificateAuthority, createServerCertificate, parseHostnames, type PemPair } from '../broker/src/index.js';

const USAGE = 'usage: node --import tsx scripts/gen-certs.ts <folder> [name-or-ip ...]';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function loadOrCreateCa(folder: string, hostnames: readonly string[]): Promise<PemPair> {
  const certFile = join(folder, 'ca.crt');
  const keyFile = join(folder, 'ca.key');
  if ((await exists(certFile)) && (await exists(keyFile))) {
    process.stdout.write(`reusing the CA in ${folder}\n`);
    return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  }
  if ((await exists(certFile)) || (await exists(keyFile)))
    throw new Error(`${folder} has only one of ca.crt and ca.key; remove it or add the other`);
  // The CA may sign for these names only; a later server certificate for other names needs a new CA.
  const ca = await createCertificateAuthority({ permittedNames: hostnames });
  await writeFile(keyFile, ca.key, { flag: 'wx', mode: 0o600 });
  await writeFile(certFile, ca.cert, { flag: 'wx', mode: 0o644 });
  process.stdout.write(`wrote ${certFile} and ${keyFile}\n`);
  return ca;
}

async function main(): Promise<void> {
  const [folder, ...names] = process.argv.slice(2);
  if (!folder || folder.startsWith('-')) throw new Error(USAGE);
  const hostnames = parseHostnames(names.length > 0 ? names.join(',') : 'localhost,127.0.0.1');
  const certFile = join(folder, 'server.crt');
  const keyFile = join(folder, 'server.key');
  if ((await exists(certFile)) || (await exists(keyFile)))
    throw new Error(`${certFile} or ${keyFile} exists already; remove them to make new ones`);
  await mkdir(folder, { recursive: true });
  const ca = await loadOrCreateCa(folder, hostnames);
  const server = await createServerCertificate(ca, hostnames);
  await writeFile(keyFile, server.key, { flag: 'wx', mode: 0o600 });
  await writeFile(certFile, server.cert, { flag: 'wx', mode: 0o644 });
  process.stdout.write(`wrote ${certFile} and ${keyFile} for ${hostnames.join(', ')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`gen-certs: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
