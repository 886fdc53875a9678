/**
 * A small controller the environment runs beside kwok (detached, like the servers): for each pod with a
 * `testenv.ogcapi/log` annotation it writes that text (and any `testenv.ogcapi/log.<container>` text) as
 * CRI log files, points kwok at them with a kwok `Logs` object (owned by the pod, so it goes when the pod
 * goes), then marks the pod `log-ready`;
 * the pod stages start such a pod only after that, so its log is in place before it runs.
 *
 * Usage: node pod-log-binder.js <kubeconfig> <directory for log files>
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, makeInformer, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PodAnnotations } from './annotations.js';
import { writeCriLog } from './cri-log.js';
import { binderReadyLine } from './pod-log-binder-spec.js';

const [kubeconfigPath, logDir] = process.argv.slice(2);
if (!kubeconfigPath || !logDir) {
  console.error('usage: pod-log-binder <kubeconfig> <log directory>');
  process.exit(2);
}

const kc = new KubeConfig();
kc.loadFromFile(kubeconfigPath);
const core = kc.makeApiClient(CoreV1Api);
const customObjects = kc.makeApiClient(CustomObjectsApi);
const logsResource = { group: 'kwok.x-k8s.io', version: 'v1alpha1', plural: 'logs' };
const bound = new Set<string>();

async function bind(pod: V1Pod): Promise<void> {
  const { name, namespace, uid } = pod.metadata ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  const text = annotations[PodAnnotations.log];
  if (!name || !namespace || !uid || text === undefined || annotations[PodAnnotations.logReady] || bound.has(uid)) return;
  bound.add(uid);
  const repeat = Number(annotations[PodAnnotations.logRepeat] ?? '1');
  const file = (suffix: string, logText: string) => {
    const logsFile = join(logDir!, `${namespace}_${name}_${uid}${suffix}.log`);
    writeCriLog(logsFile, logText, repeat);
    return logsFile;
  };
  const perContainer = Object.entries(annotations)
    .filter(([key]) => key.startsWith(PodAnnotations.containerLogPrefix))
    .map(([key, logText]) => {
      const container = key.slice(PodAnnotations.containerLogPrefix.length);
      return { containers: [container], logsFile: file(`_${container}`, logText), follow: false };
    });
  const logs = {
    apiVersion: `${logsResource.group}/${logsResource.version}`,
    kind: 'Logs',
    metadata: { name, namespace, ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name, uid }] },
    spec: { logs: [{ logsFile: file('', text), follow: false }, ...perContainer] },
  };
  await withRetries(`bind the log of pod ${namespace}/${name}`, async () => {
    await customObjects.deleteNamespacedCustomObject({ ...logsResource, namespace, name }).catch(ignoreNotFound);
    await customObjects.createNamespacedCustomObject({ ...logsResource, namespace, body: logs });
    await core.patchNamespacedPod(
      { name, namespace, body: { metadata: { annotations: { [PodAnnotations.logReady]: 'true' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  });
}

function ignoreNotFound(error: { code?: number }): void {
  if (error.code !== 404) throw error;
}

async function withRetries(what: string, action: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (attempt === 5) {
        console.error(`pod-log-binder: gave up trying to ${what}: ${(error as Error).message}`);
        return;
      }
      await sleep(200 * attempt);
    }
  }
}

const informer = makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
const onPod = (pod: V1Pod) => void bind(pod);
informer.on('add', onPod);
informer.on('update', onPod);
informer.on('error', (error) => {
  console.error(`pod-log-binder: watch failed (${String(error)}), restarting in 1s`);
  setTimeout(() => void informer.start(), 1_000);
});
await informer.start();
console.log(binderReadyLine);
