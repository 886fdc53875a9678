import { existsSync, readFileSync } from 'node:fs';
import type https from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  ApiException,
  createConfiguration,
  KubeConfig,
  Observable,
  ServerConfiguration,
  setHeaderMiddleware,
  type ApiType,
  type Configuration,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';

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
  const homeConfig = join(env.HOME ?? homedir(), '.kube', 'config');
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

/**
 * client-node gives every request of an API client a new connection agent, so each call pays a TLS
 * handshake, and under load the pool opens one HTTP/1.1 connection per request in flight: dozens of
 * handshakes that cost the API server as much CPU as the requests. This sends every call of a client
 * over one agent that speaks HTTP/2 (as client-go does), so concurrent calls share one connection.
 * The TLS settings come from the kubeconfig once; the token is still set per call (it is a header,
 * and may rotate; client certificates that rotate would need a new client). A cluster reached through
 * a proxy keeps client-node's own agent.
 */
function sharedConnection(kubeConfig: KubeConfig): ObservableMiddleware {
  let shared: Promise<Dispatcher | undefined> | undefined;
  const create = async (): Promise<Dispatcher | undefined> => {
    if (kubeConfig.getCurrentCluster()?.proxyUrl) return undefined;
    const tls: https.RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(tls);
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = tls;
    const connect = Object.fromEntries(Object.entries({ ca, cert, key, pfx, passphrase, rejectUnauthorized, servername }).filter(([, value]) => value !== undefined));
    // undici 7 admits a connection's concurrent HTTP/2 streams up to `pipelining` (its default of 1
    // would open a connection per call in flight); 100 is its HTTP/2 stream limit. Should a server
    // offer only HTTP/1.1, undici pipelines nothing but GET and HEAD behind another call.
    return new Agent({ allowH2: true, pipelining: 100, connect: { ...connect, keepAlive: true, keepAliveInitialDelay: 30_000 } });
  };
  return {
    pre: (context: RequestContext) => {
      // A failure (say, an exec credential plugin that is down) is retried on the next call.
      shared ??= create().catch((error: unknown) => {
        shared = undefined;
        throw error;
      });
      return new Observable(shared.then((dispatcher) => {
        if (dispatcher && context.getDispatcher() !== undefined) context.setDispatcher(dispatcher);
        return context;
      }));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
}

/** An API client (BatchV1Api, CoreV1Api, ...) whose calls share one HTTP/2 connection. */
export function apiClient<T extends ApiType>(kubeConfig: KubeConfig, api: new (configuration: Configuration) => T): T {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  return new api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      // client-node reverses its middleware list in place on every call: keep these order-independent.
      middleware: [setHeaderMiddleware('User-Agent', 'ogcapi-k8s-manager'), sharedConnection(kubeConfig)],
    }),
  );
}
