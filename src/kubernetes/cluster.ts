import { existsSync, readFileSync } from 'node:fs';
import type https from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector, request as undiciRequest, type Dispatcher } from 'undici';
import {
  ApiException,
  createConfiguration,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  Observable,
  ResponseContext,
  ServerConfiguration,
  setHeaderMiddleware,
  type ApiType,
  type Configuration,
  type HttpLibrary,
  type RequestContext,
} from './client-node.js';

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
 * How the API clients reach the API server. client-node's own transport sends each call through fetch
 * with a new connection agent, so each call pays a TLS handshake, and under load the pool opens one
 * HTTP/1.1 connection per call in flight: dozens of handshakes that cost the API server as much CPU as
 * the requests. This one sends every call of a client over one undici agent that speaks HTTP/2 (as
 * client-go does), so concurrent calls share one connection. Two undici 7 gates stand in the way
 * (both lifted only in undici 8, which needs Node 22):
 * - it admits a connection's concurrent HTTP/2 streams only up to `pipelining` (undici #4143), whose
 *   default is 1: set to 100, undici's HTTP/2 stream limit;
 * - it counts a connection busy for any POST or PATCH while another call runs, or for a body it cannot
 *   measure (undici #5390): each concurrent Job creation opened a connection of its own. So the body
 *   goes as the text client-node built (fetch would stream it), and while every connection has spoken
 *   HTTP/2 each call is marked idempotent. That only opens the gate: HTTP/2 streams are independent
 *   and undici retries nothing there. Once a connection speaks HTTP/1.1 nothing is marked any more,
 *   so nothing queues (or is re-sent) behind a POST.
 * The TLS settings come from the kubeconfig once; the token is still set per call (it is a header and
 * may rotate; client certificates that rotate would need a new client). A cluster reached through a
 * proxy, and a body that is not text, keep client-node's own transport.
 */
class SharedConnection implements HttpLibrary {
  private agent: Promise<Agent | undefined> | undefined;
  /** Whether every connection so far spoke HTTP/2 (undefined before the first one). */
  private onlyHttp2: boolean | undefined;
  private readonly ownTransport = new IsomorphicFetchHttpLibrary();

  constructor(private readonly kubeConfig: KubeConfig) {}

  send(request: RequestContext): Observable<ResponseContext> {
    return new Observable(this.dispatch(request));
  }

  private async dispatch(request: RequestContext): Promise<ResponseContext> {
    const body = request.getBody();
    // A failure to set up (say, an exec credential plugin that is down) is retried on the next call.
    this.agent ??= this.createAgent().catch((error: unknown) => {
      this.agent = undefined;
      throw error;
    });
    const agent = await this.agent;
    if (!agent || (body !== undefined && typeof body !== 'string')) return this.ownTransport.send(request).toPromise();
    const response = await undiciRequest(request.getUrl(), {
      method: request.getHttpMethod() as Dispatcher.HttpMethod,
      headers: request.getHeaders(),
      body,
      signal: request.getSignal(),
      dispatcher: agent,
      ...(this.onlyHttp2 ? { idempotent: true } : {}),
    });
    const headers = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]));
    return new ResponseContext(response.statusCode, headers, {
      text: () => response.body.text(),
      binary: async () => Buffer.from(await response.body.arrayBuffer()),
      stream: () => Readable.toWeb(response.body) as ReadableStream<Uint8Array>,
    });
  }

  private async createAgent(): Promise<Agent | undefined> {
    if (this.kubeConfig.getCurrentCluster()?.proxyUrl) return undefined;
    const tls: https.RequestOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(tls);
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = tls;
    const tlsOptions = Object.fromEntries(Object.entries({ ca, cert, key, pfx, passphrase, rejectUnauthorized, servername }).filter(([, value]) => value !== undefined));
    const connector = buildConnector({ ...tlsOptions, allowH2: true, keepAlive: true, keepAliveInitialDelay: 30_000 });
    return new Agent({
      allowH2: true,
      pipelining: 100,
      connect: (options, callback) => connector(options, (...result) => {
        const socket = result[1];
        // One HTTP/1.1 connection (a proxy or server that changed) ends the marking for good.
        if (socket) this.onlyHttp2 = this.onlyHttp2 !== false && (socket as TLSSocket).alpnProtocol === 'h2';
        callback(...result);
      }),
    });
  }
}

/** An API client (BatchV1Api, CoreV1Api, ...) whose calls share one HTTP/2 connection. */
export function apiClient<T extends ApiType>(kubeConfig: KubeConfig, api: new (configuration: Configuration) => T): T {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  return new api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      middleware: [setHeaderMiddleware('User-Agent', 'ogcapi-k8s-manager')],
      httpApi: new SharedConnection(kubeConfig),
    }),
  );
}
