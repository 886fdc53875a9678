import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TestEnvironmentError } from './errors.js';

const run = promisify(execFile);

/** Files of the environment's PKI; all keys are EC P-256 (fast to generate). */
export interface Pki {
  caCert: string;
  /** Also signs certificates for the controller manager's CSR signer. */
  caKey: string;
  /** Serves the API server (and kwok's kubelet API) and authenticates admin clients: O=system:masters. */
  adminCert: string;
  adminKey: string;
  /** Signs service-account tokens (TokenRequest API). */
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

const days = '30';

/** Generates a fresh CA, admin/serving cert (SANs localhost, 127.0.0.1) and service-account key with the openssl CLI. */
export async function generatePki(dir: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = (name: string) => join(dir, name);
  const pki: Pki = {
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    adminCert: file('admin.crt'),
    adminKey: file('admin.key'),
    serviceAccountKey: file('sa.key'),
    serviceAccountPublicKey: file('sa.pub'),
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', pki.caKey, '-out', pki.caCert, '-days', days,
    '-subj', '/CN=ogcapi-testenv-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await openssl(['req', '-new', ...ec, '-keyout', pki.adminKey, '-out', file('admin.csr'),
    '-subj', '/O=system:masters/CN=ogcapi-testenv-admin']);
  writeFileSync(file('admin.ext'), [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth,clientAuth',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ].join('\n'));
  await openssl(['x509', '-req', '-in', file('admin.csr'), '-CA', pki.caCert, '-CAkey', pki.caKey,
    '-set_serial', `0x${randomBytes(16).toString('hex')}`, '-days', days, '-extfile', file('admin.ext'), '-out', pki.adminCert]);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', pki.serviceAccountKey]);
  await openssl(['pkey', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPublicKey]);
  for (const key of [pki.caKey, pki.adminKey, pki.serviceAccountKey]) chmodSync(key, 0o600);
  return pki;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new TestEnvironmentError(`openssl ${args[0]} failed (is the openssl CLI installed?): ${stderr.trim()}`);
  }
}
