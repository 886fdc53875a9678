import { BatchV1Api, CoreV1Api, type KubeConfig, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { waitFor } from '../testenv/wait.js';

/** A short random suffix so that every test gets its own names. */
export const unique = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`;

/**
 * Creates a namespace for one test and waits for its `default` ServiceAccount (pods cannot be created
 * before); `labels` are added to it (e.g. a Pod Security level to enforce).
 */
export async function createTestNamespace(kc: KubeConfig, prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = unique(prefix);
  await core.createNamespace({ body: { metadata: { name, labels: { 'testenv.ogcapi/smoke': 'true', ...labels } } } });
  await waitFor(() => core.readNamespacedServiceAccount({ name: 'default', namespace: name }), {
    what: `ServiceAccount default in namespace ${name}`,
    timeoutMs: 15_000,
  });
  return name;
}

/** Deletes a test namespace without waiting for it to go. */
export async function deleteTestNamespace(kc: KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(CoreV1Api).deleteNamespace({ name }).catch(() => undefined);
}

/** A Job with one container and no retries; `annotations` go on its pod template (they steer kwok). */
export function jobManifest(name: string, annotations: Record<string, string> = {}): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { annotations },
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'example.test/process:1' }] },
      },
    },
  };
}

/** Waits until the Job has a condition of one of `types` with status True, and returns the Job. */
export async function waitForJobCondition(kc: KubeConfig, namespace: string, name: string, types: string[], timeoutMs = 30_000): Promise<V1Job> {
  const batch = kc.makeApiClient(BatchV1Api);
  return waitFor(
    async () => {
      const job = await batch.readNamespacedJobStatus({ name, namespace });
      return job.status?.conditions?.some((c) => types.includes(c.type) && c.status === 'True') ? job : undefined;
    },
    { what: `Job ${namespace}/${name} to have condition ${types.join(' or ')}`, timeoutMs, intervalMs: 200 },
  );
}

/** The single pod the Job created. */
export async function podOfJob(kc: KubeConfig, namespace: string, jobName: string): Promise<V1Pod> {
  const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${jobName}` });
  if (pods.items.length !== 1) throw new Error(`expected 1 pod for Job ${jobName}, found ${pods.items.length}`);
  return pods.items[0]!;
}

/** Waits until `predicate` holds for the pod, and returns the pod. */
export async function waitForPod(kc: KubeConfig, namespace: string, name: string, what: string, predicate: (pod: V1Pod) => boolean, timeoutMs = 15_000): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  return waitFor(
    async () => {
      const pod = await core.readNamespacedPod({ name, namespace });
      return predicate(pod) ? pod : undefined;
    },
    { what: `pod ${namespace}/${name}: ${what}`, timeoutMs, intervalMs: 200 },
  );
}
