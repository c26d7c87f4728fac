/**
 * A small local certificate authority for the bundled broker: a CA certificate, and server
 * certificates it signs for a list of host names and IP addresses. RSA 2048, SHA-256.
 * Keys come from node:crypto (native and async: pure-JS key generation would stall the event
 * loop for seconds); node-forge builds and signs the certificates.
 */
import { generateKeyPair as generateKeyPairCallback, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPair = promisify(generateKeyPairCallback);

export interface PemPair {
  /** PEM certificate. */
  cert: string;
  /** PEM private key (PKCS#8). */
  key: string;
}

export interface CertificateOptions {
  /** Days the certificate stays valid. */
  validDays?: number;
  /** Subject common name. */
  commonName?: string;
}

export interface CertificateAuthorityOptions extends CertificateOptions {
  /**
   * The only names and addresses certificates of this CA may be valid for (a name covers its
   * subdomains too). Clients trust the CA beside the public ones, so a stolen CA key must not be
   * able to pass for any other site.
   */
  permittedNames: readonly string[];
}

const CA_VALID_DAYS = 3650;
/** 825 days: the longest server validity current TLS clients accept. */
const SERVER_VALID_DAYS = 825;

async function generateRsaKey(): Promise<{ pem: string; forgeKey: forge.pki.rsa.PrivateKey; forgePublic: forge.pki.rsa.PublicKey }> {
  const { privateKey, publicKey } = await generateKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { pem: privateKey, forgeKey: forge.pki.privateKeyFromPem(privateKey), forgePublic: forge.pki.publicKeyFromPem(publicKey) };
}

function newCertificate(publicKey: forge.pki.rsa.PublicKey, validDays: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // A positive 128-bit serial (top bit clear, so the DER integer is not negative).
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = serial.toString('hex');
  const notBefore = new Date(Date.now() - 60 * 60 * 1000); // an hour back tolerates clock skew
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = new Date(notBefore.getTime() + validDays * 24 * 60 * 60 * 1000);
  return cert;
}

/** An IPv4 or IPv6 address as the 4 or 16 bytes of its network form. */
function addressBytes(ip: string): number[] {
  if (isIP(ip) === 4) return ip.split('.').map(Number);
  const [head = '', tail = ''] = ip.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const missing = 8 - groups(head).length - groups(tail).length;
  const words = [...groups(head), ...Array<string>(ip.includes('::') ? missing : 0).fill('0'), ...groups(tail)];
  return words.flatMap((word) => [(parseInt(word, 16) >> 8) & 0xff, parseInt(word, 16) & 0xff]);
}

/** Context-specific tags of the name constraints extension; forge types every tag as its universal-class `Type` enum. */
const PERMITTED_SUBTREES_TAG = 0 as unknown as forge.asn1.Type;
const DNS_NAME_TAG = 2 as unknown as forge.asn1.Type;
const IP_ADDRESS_TAG = 7 as unknown as forge.asn1.Type;

/**
 * The X.509 name constraints extension (RFC 5280 4.2.1.10; node-forge has no builder for it):
 * permitted subtrees of dNSName [2] and iPAddress [7] (address followed by an all-ones mask).
 */
function nameConstraints(names: readonly string[]): { id: string; critical: boolean; value: string } {
  const { asn1 } = forge;
  const subtrees = names.map((name) => {
    const base = isIP(name)
      ? asn1.create(
          asn1.Class.CONTEXT_SPECIFIC,
          IP_ADDRESS_TAG,
          false,
          String.fromCharCode(...addressBytes(name), ...addressBytes(name).map(() => 0xff)),
        )
      : asn1.create(asn1.Class.CONTEXT_SPECIFIC, DNS_NAME_TAG, false, name);
    return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [base]);
  });
  const permitted = asn1.create(asn1.Class.CONTEXT_SPECIFIC, PERMITTED_SUBTREES_TAG, true, subtrees);
  const value = asn1.toDer(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [permitted])).getBytes();
  return { id: '2.5.29.30', critical: true, value };
}

/** Creates a self-signed CA that can sign server certificates for `permittedNames` only. */
export async function createCertificateAuthority(options: CertificateAuthorityOptions): Promise<PemPair> {
  const key = await generateRsaKey();
  const cert = newCertificate(key.forgePublic, options.validDays ?? CA_VALID_DAYS);
  const subject = [
    { name: 'commonName', value: options.commonName ?? 'camqtt local CA' },
    { name: 'organizationName', value: 'camqtt' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    nameConstraints(options.permittedNames),
  ]);
  cert.sign(key.forgeKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: key.pem };
}

/** Splits `broker,localhost,127.0.0.1` into trimmed, non-empty, unique entries. */
export function parseHostnames(list: string): string[] {
  return [
    ...new Set(
      list
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name.length > 0),
    ),
  ];
}

function subjectAltNames(hostnames: readonly string[]): Array<{ type: number; value?: string; ip?: string }> {
  // type 2 = dNSName, type 7 = iPAddress (RFC 5280).
  return hostnames.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name }));
}

/** Creates a server certificate for `hostnames` (names and IP addresses), signed by `ca`. */
export async function createServerCertificate(
  ca: PemPair,
  hostnames: readonly string[],
  options: CertificateOptions = {},
): Promise<PemPair> {
  if (hostnames.length === 0) throw new Error('a server certificate needs at least one host name or address');
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const key = await generateRsaKey();
  const cert = newCertificate(key.forgePublic, options.validDays ?? SERVER_VALID_DAYS);
  cert.setSubject([{ name: 'commonName', value: options.commonName ?? hostnames[0]! }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: subjectAltNames(hostnames) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: key.pem };
}
