/**
 * The provisioned CA may sign for its own host names only (X.509 name constraints, enforced by
 * OpenSSL in every client): a stolen CA key cannot pass for another site to the clients that
 * trust it beside the public CAs.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import { test } from 'node:test';
import { createCertificateAuthority, createServerCertificate } from '../src/index.js';

/** Connects to a TLS server holding `server`, trusting `caCert`, as `servername`; resolves with the verification error or 'ok'. */
async function verifyAs(server: { cert: string; key: string }, caCert: string, servername: string): Promise<string> {
  const listener = createServer({ cert: server.cert, key: server.key }, (socket) => socket.end());
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as AddressInfo;
  try {
    return await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, servername, ca: [caCert], checkServerIdentity: () => undefined }, () => {
        socket.end();
        resolve('ok');
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(`${error.code}: ${error.message}`));
    });
  } finally {
    listener.close();
  }
}

test('a CA made for broker, localhost and 127.0.0.1 signs for them, and its certificates for any other name are refused', async () => {
  const ca = await createCertificateAuthority({ permittedNames: ['broker', 'localhost', '127.0.0.1'] });
  assert.equal(await verifyAs(await createServerCertificate(ca, ['broker', 'localhost', '127.0.0.1']), ca.cert, 'localhost'), 'ok');
  for (const other of [['www.bank.example'], ['10.0.0.1'], ['localhost', 'www.bank.example']]) {
    const verdict = await verifyAs(await createServerCertificate(ca, other), ca.cert, other[0]!);
    assert.match(verdict, /permitted subtree violation/, `a certificate for ${other.join(', ')} is refused (${verdict})`);
  }
});
