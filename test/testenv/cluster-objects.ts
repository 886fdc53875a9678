import { ApiextensionsV1Api, CoreV1Api, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { TestEnvironmentError } from './errors.js';
import { repoRoot } from './paths.js';

/** The fake node kwok manages; pods can target it with the nodeSelector `type: kwok`. */
export const fakeNodeName = 'testenv-node-0';

export async function createFakeNode(kc: KubeConfig): Promise<void> {
  await kc.makeApiClient(CoreV1Api).createNode({
    body: {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: fakeNodeName,
        labels: { type: 'kwok', 'kubernetes.io/hostname': fakeNodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
        annotations: { 'kwok.x-k8s.io/node': 'fake' },
      },
    },
  });
}

export async function nodeIsReady(kc: KubeConfig): Promise<boolean> {
  const node = await kc.makeApiClient(CoreV1Api).readNode({ name: fakeNodeName });
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The `default` ServiceAccount appears once the controller manager's serviceaccount controller runs; pods need it. */
export async function defaultServiceAccountExists(kc: KubeConfig): Promise<boolean> {
  await kc.makeApiClient(CoreV1Api).readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
  return true;
}

/**
 * Installs kwok's `Logs` CRD, read from the kwok module (the version build.sh pins) in the Go module cache,
 * so its schema always matches the kwok that runs.
 */
export async function installKwokLogsCrd(kc: KubeConfig): Promise<void> {
  const crd = parse(readFileSync(join(await kwokModuleDir(), 'kustomize', 'crd', 'bases', 'kwok.x-k8s.io_logs.yaml'), 'utf8')) as V1CustomResourceDefinition;
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: crd });
}

export async function crdIsEstablished(kc: KubeConfig, name: string): Promise<boolean> {
  const crd = await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name });
  return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
}

async function kwokModuleDir(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('go', ['mod', 'download', '-json', 'sigs.k8s.io/kwok'], {
      cwd: join(repoRoot, 'tools', 'testenv', 'kwok'),
    });
    return (JSON.parse(stdout) as { Dir: string }).Dir;
  } catch (error) {
    throw new TestEnvironmentError(`could not locate the kwok module (needs the go command and the module proxy or cache): ${(error as Error).message}`);
  }
}
