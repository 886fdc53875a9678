import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ApiException, KubeConfig } from '@kubernetes/client-node';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ClusterConnection {
  kubeConfig: KubeConfig;
  namespace: string;
  /** Where the connection came from, for the start-up log. */
  source: string;
}

/**
 * The cluster to run jobs on: KUBECONFIG if set, else the pod's service account, else
 * ~/.kube/config; undefined when there is none (the server then offers local processes only).
 * The namespace: K8S_MANAGER_NAMESPACE, else the service account's, else the context's, else default.
 */
export function connectToCluster(env: NodeJS.ProcessEnv): ClusterConnection | undefined {
  const kubeConfig = new KubeConfig();
  let source: string;
  const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && existsSync(join(SERVICE_ACCOUNT_DIR, 'token')));
  const homeConfig = join(homedir(), '.kube', 'config');
  if (env.KUBECONFIG) {
    // Several files may be named, as kubectl allows; the first one's current context wins.
    const [first, ...rest] = env.KUBECONFIG.split(delimiter).filter(Boolean);
    kubeConfig.loadFromFile(first!);
    for (const file of rest) {
      const other = new KubeConfig();
      other.loadFromFile(file);
      kubeConfig.mergeConfig(other);
    }
    source = `KUBECONFIG (${env.KUBECONFIG})`;
  } else if (inCluster) {
    kubeConfig.loadFromCluster();
    source = 'in-cluster service account';
  } else if (existsSync(homeConfig)) {
    kubeConfig.loadFromFile(homeConfig);
    source = homeConfig;
  } else {
    return undefined; // loadFromDefault would silently fall back to http://localhost:8080
  }
  if (!kubeConfig.getCurrentCluster()) return undefined;
  const serviceAccountNamespace = existsSync(join(SERVICE_ACCOUNT_DIR, 'namespace'))
    ? readFileSync(join(SERVICE_ACCOUNT_DIR, 'namespace'), 'utf8').trim()
    : undefined;
  const contextNamespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace?.trim();
  const namespace = env.K8S_MANAGER_NAMESPACE || serviceAccountNamespace || contextNamespace || 'default';
  return { kubeConfig, namespace, source };
}

/** The HTTP status of a failed Kubernetes API call, if it was one. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? (error as ApiException<unknown>).code : undefined;
}

/** A short, secret-free description of a failed API call. */
export function describeApiError(error: unknown): string {
  if (error instanceof ApiException) {
    const api = error as ApiException<unknown>;
    let message: string | undefined;
    if (typeof api.body === 'string') {
      try {
        message = (JSON.parse(api.body) as { message?: string }).message;
      } catch {
        message = api.body.slice(0, 300);
      }
    }
    return `Kubernetes API answered ${api.code}${message ? `: ${message}` : ''}`;
  }
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  return `${(error as Error).message ?? String(error)}${cause ? ` (${cause})` : ''}`;
}
