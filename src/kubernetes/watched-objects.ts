import type { Logger } from 'pino';
import { makeInformer, type KubeConfig, type KubernetesListObject, type KubernetesObject } from './client-node.js';

/** How many objects one LIST request asks for: pages keep the start-up peak of a large cache small. */
const LIST_PAGE_SIZE = 500;

export interface ListPage {
  labelSelector: string;
  limit: number;
  _continue?: string;
}

export interface WatchedKind<T extends KubernetesObject> {
  /** The collection's API path, e.g. /apis/batch/v1/namespaces/x/jobs. */
  path: string;
  /** One page of the LIST: the generated client's list call, given these query parameters. */
  listPage: (page: ListPage) => Promise<KubernetesListObject<T>>;
  labelSelector: string;
  /**
   * Removes, in place, what the cache's readers never use, as each object arrives (client-go's
   * transform function): the cache keeps the trimmed objects, so their size is what stays in memory.
   */
  trim: (object: T) => void;
}

/**
 * A watch-backed cache of one kind of object (our Jobs, or our Pods): an informer that lists, page by
 * page, then watches; relists by itself when its resourceVersion expires (410), and that we restart
 * with jittered exponential backoff on any other error (client-node stops the informer then).
 */
export class WatchedObjects<T extends KubernetesObject> {
  private readonly informer;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private backoffMs = 500;
  private synced = false;
  private lastError: string | undefined;
  restarts = 0;

  constructor(
    kubeConfig: KubeConfig,
    private readonly kind: WatchedKind<T>,
    private readonly logger: Logger,
    onChange: (object: T, deleted: boolean) => void,
  ) {
    this.informer = makeInformer<T>(kubeConfig, kind.path, () => this.listAll(), kind.labelSelector);
    const changed = (deleted: boolean) => (object: T) => {
      this.backoffMs = 500;
      this.lastError = undefined;
      try {
        kind.trim(object); // a watched object: the informer has just stored this very object
        onChange(object, deleted);
      } catch (error) {
        // client-node's watch drops whatever a handler throws without a word: a bug must be seen.
        this.logger.error({ err: error, object: object.metadata?.name }, 'handling a watch event failed');
      }
    };
    this.informer.on('add', changed(false));
    this.informer.on('update', changed(false));
    this.informer.on('delete', changed(true));
    this.informer.on('error', (error: unknown) => this.restartAfter(error));
  }

  async start(): Promise<void> {
    this.stopping = false;
    await this.informer.start();
    this.synced = true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  list(): readonly T[] {
    return this.informer.list();
  }

  get(name: string, namespace: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  /** Why the cache may be stale, or undefined when it is watching. */
  problem(): string | undefined {
    if (!this.synced) return 'not yet synced with the cluster';
    return this.lastError;
  }

  /** The whole collection, trimmed page by page so no page's full objects outlive it. */
  private async listAll(): Promise<KubernetesListObject<T>> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.kind.listPage({ labelSelector: this.kind.labelSelector, limit: LIST_PAGE_SIZE, ...(continueToken ? { _continue: continueToken } : {}) });
      for (const item of page.items) {
        this.kind.trim(item);
        items.push(item);
      }
      // Every page of one LIST is read at the same resourceVersion; the watch starts from it.
      resourceVersion = page.metadata?.resourceVersion;
      continueToken = page.metadata?._continue || undefined;
    } while (continueToken);
    return { apiVersion: 'v1', kind: 'List', metadata: { ...(resourceVersion ? { resourceVersion } : {}) }, items };
  }

  private restartAfter(error: unknown): void {
    // stop(), and start() on a running informer, report an AbortError: not a failure.
    if (this.stopping || (error as Error | undefined)?.name === 'AbortError' || this.restartTimer) return;
    this.lastError = (error as Error | undefined)?.message ?? String(error);
    const delay = this.backoffMs / 2 + Math.random() * this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
    this.logger.warn({ err: error, retryInMs: Math.round(delay) }, 'watch failed; restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restarts++;
      this.informer.start().catch((startError: unknown) => this.restartAfter(startError));
    }, delay);
  }
}
