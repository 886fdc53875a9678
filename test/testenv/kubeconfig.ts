import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { Pki } from './pki.js';

/** Writes an admin kubeconfig for the environment's API server; never touches ~/.kube/config. */
export function writeAdminKubeconfig(path: string, apiserverUrl: string, pki: Pki): void {
  const name = 'ogcapi-testenv';
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: apiserverUrl, 'certificate-authority': pki.caCert } }],
    users: [{ name, user: { 'client-certificate': pki.adminCert, 'client-key': pki.adminKey } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
}
