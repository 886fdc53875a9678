import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '../kubernetes/client-node.js';
import { apiClient, describeApiError, statusOf, type ClusterConnection } from '../kubernetes/cluster.js';
import { containerStatuses } from '../kubernetes/job-status.js';
import { LABELS, LOG_FINALIZER, MANAGED_SELECTOR } from '../kubernetes/labels.js';
import { LeaderElection } from '../kubernetes/leader-election.js';
import { openPodLog } from '../kubernetes/pod-logs.js';
import { WatchedObjects } from '../kubernetes/watched-objects.js';
import { logKey, type LogBucket } from './bucket.js';

export const ARCHIVER_LEASE = 'ogcapi-k8s-manager-log-archiver';

export interface LogArchiveOptions {
  pathPrefix: string;
  /** Unique per process: the lease holder's name. */
  identity: string;
  leaseDurationSeconds: number;
  maxRetrySeconds: number;
  resyncSeconds: number;
  /** Pods archived at the same time. */
  concurrency?: number;
}

/** What an operator watches: counted since start (pendingFinalizers is the current number). */
export interface LogArchiveMetrics {
  leader: boolean;
  archivedPods: number;
  archivedBytes: number;
  failedAttempts: number;
  pendingFinalizers: number;
  /** Restarts of its pod watch after a failure. */
  watchRestarts: number;
}

const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/**
 * The log finalizer controller. Every job pod is created with LOG_FINALIZER (see job-spec.ts), so
 * Kubernetes keeps it until this controller has streamed each container's log to the bucket and then
 * removed that finalizer. Only the holder of the archiver Lease works; it reconciles from the pods'
 * state (any pod that has ended or is being deleted and still holds the finalizer), on start, on
 * every change and periodically, so nothing depends on seeing one particular event.
 */
export class LogArchiveController {
  private readonly core: CoreV1Api;
  private readonly namespace: string;
  private readonly election: LeaderElection;
  private readonly pods: WatchedObjects<V1Pod>;
  /** Pods waiting for a free slot, in order. */
  private readonly queue = new Set<string>();
  /** Pods being archived, with what stops them. */
  private readonly running = new Map<string, AbortController>();
  private readonly retries = new Map<string, { attempt: number; timer?: NodeJS.Timeout }>();
  private resync: NodeJS.Timeout | undefined;
  private readonly counters = { archivedPods: 0, archivedBytes: 0, failedAttempts: 0 };

  constructor(
    private readonly connection: ClusterConnection,
    private readonly bucket: LogBucket,
    private readonly options: LogArchiveOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.namespace = connection.namespace;
    this.core = apiClient(connection.kubeConfig, CoreV1Api);
    this.pods = new WatchedObjects<V1Pod>(
      connection.kubeConfig,
      {
        path: `/api/v1/namespaces/${this.namespace}/pods`,
        listPage: (page) => this.core.listNamespacedPod({ namespace: this.namespace, ...page }),
        labelSelector: MANAGED_SELECTOR,
        // The container names (spec) are read; the managedFields never are.
        trim: (pod) => void delete pod.metadata?.managedFields,
      },
      logger.child({ watch: 'pods' }),
      (pod, deleted) => {
        if (!deleted) this.consider(pod);
      },
    );
    this.election = new LeaderElection(
      connection,
      { leaseName: ARCHIVER_LEASE, identity: options.identity, leaseDurationSeconds: options.leaseDurationSeconds },
      clock,
      logger,
      (leading) => void (leading ? this.lead() : this.follow()),
    );
  }

  start(): void {
    this.logger.info({ identity: this.options.identity, namespace: this.namespace }, 'log archive controller started; campaigning for the archiver lease');
    this.election.start();
  }

  /** Stops archiving (uploads in flight are aborted; their pods keep the finalizer) and hands the lease on. */
  async stop(): Promise<void> {
    await this.election.stop();
    await this.follow();
    this.bucket.close();
  }

  metrics(): LogArchiveMetrics {
    const pendingFinalizers = this.election.isLeader ? this.pods.list().filter(holdsFinalizer).length : 0;
    return { leader: this.election.isLeader, ...this.counters, pendingFinalizers, watchRestarts: this.pods.restarts };
  }

  private async lead(): Promise<void> {
    await this.pods.start(); // lists every pod: those that ended while no one led are archived now
    this.resync = setInterval(() => this.reconcileAll(), this.options.resyncSeconds * 1000);
    this.resync.unref();
  }

  private async follow(): Promise<void> {
    clearInterval(this.resync);
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    this.retries.clear();
    this.queue.clear();
    for (const abort of this.running.values()) abort.abort();
    await this.pods.stop();
  }

  private reconcileAll(): void {
    for (const pod of this.pods.list()) this.consider(pod);
  }

  private consider(pod: V1Pod): void {
    const name = pod.metadata?.name;
    if (!name || !this.election.isLeader || !readyToArchive(pod, this.clock.now())) return;
    if (this.running.has(name) || this.retries.get(name)?.timer) return;
    this.queue.add(name);
    this.drain();
  }

  private drain(): void {
    const slots = this.options.concurrency ?? 4;
    for (const name of this.queue) {
      if (this.running.size >= slots) return;
      this.queue.delete(name);
      const abort = new AbortController();
      this.running.set(name, abort);
      void this.archive(name, abort.signal).finally(() => {
        this.running.delete(name);
        this.drain();
      });
    }
  }

  private async archive(name: string, signal: AbortSignal): Promise<void> {
    const pod = this.pods.get(name, this.namespace);
    if (!pod || !holdsFinalizer(pod)) return;
    const jobID = pod.metadata?.labels?.[LABELS.jobId] ?? 'unlabelled';
    const log = this.logger.child({ pod: name, jobId: jobID });
    try {
      let bytes = 0;
      for (const container of containersThatRan(pod)) {
        const key = logKey(this.options.pathPrefix, jobID, name, container);
        const stream = await openPodLog(this.connection.kubeConfig, this.namespace, name, container, { signal });
        bytes += await this.bucket.write(key, stream, signal);
      }
      if (signal.aborted) return;
      await this.removeFinalizer(name);
      this.retries.delete(name);
      this.counters.archivedPods++;
      this.counters.archivedBytes += bytes;
      log.info({ bytes }, 'pod logs archived; finalizer removed');
    } catch (error) {
      if (signal.aborted) return;
      this.counters.failedAttempts++;
      const attempt = (this.retries.get(name)?.attempt ?? 0) + 1;
      const capMs = this.options.maxRetrySeconds * 1000;
      const baseMs = Math.min(capMs, 1000 * 2 ** (attempt - 1));
      const delay = baseMs / 2 + Math.random() * (baseMs / 2);
      log.warn({ err: describeApiError(error), attempt, retryInMs: Math.round(delay) }, 'archiving pod logs failed; the pod keeps its finalizer until it succeeds');
      const timer = setTimeout(() => {
        this.retries.set(name, { attempt });
        const current = this.pods.get(name, this.namespace);
        if (current) this.consider(current);
      }, delay);
      timer.unref();
      this.retries.set(name, { attempt, timer });
    }
  }

  /**
   * Removes only our finalizer, with a JSON patch that first tests it is still at the index we read:
   * other finalizers stay, and a concurrent change makes the patch fail (422) rather than be overwritten.
   */
  private async removeFinalizer(name: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let pod: V1Pod;
      try {
        pod = await this.core.readNamespacedPod({ namespace: this.namespace, name });
      } catch (error) {
        if (statusOf(error) === 404) return;
        throw error;
      }
      const index = pod.metadata?.finalizers?.indexOf(LOG_FINALIZER) ?? -1;
      if (index < 0) return;
      try {
        await this.core.patchNamespacedPod(
          {
            namespace: this.namespace,
            name,
            body: [
              { op: 'test', path: `/metadata/finalizers/${index}`, value: LOG_FINALIZER },
              { op: 'remove', path: `/metadata/finalizers/${index}` },
            ],
          },
          jsonPatch,
        );
        return;
      } catch (error) {
        const status = statusOf(error);
        if (status === 404) return;
        if (status !== 422 || attempt === 5) throw error;
      }
    }
  }
}

function holdsFinalizer(pod: V1Pod): boolean {
  return pod.metadata?.finalizers?.includes(LOG_FINALIZER) ?? false;
}

/**
 * A pod's logs are complete once it has ended; a pod being deleted is archived once its containers
 * have stopped, or once its grace period is over (a lost node never reports them stopped).
 */
export function readyToArchive(pod: V1Pod, now: number): boolean {
  if (!holdsFinalizer(pod)) return false;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return true;
  const deletion = pod.metadata?.deletionTimestamp;
  if (!deletion) return false;
  return !containerStatuses(pod).some((status) => status.state?.running) || now >= new Date(deletion).getTime();
}

/** Init containers, then containers, in spec order; a container that never started has no log. */
export function containersThatRan(pod: V1Pod): string[] {
  const statuses = new Map(containerStatuses(pod).map((status) => [status.name, status]));
  const ran = (name: string) => {
    const status = statuses.get(name);
    return Boolean(status && (status.state?.running || status.state?.terminated || status.lastState?.terminated));
  };
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((container) => container.name).filter(ran);
}
