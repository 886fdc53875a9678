import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { CoordinationV1Api, V1MicroTime, type V1Lease } from './client-node.js';
import { apiClient, describeApiError, statusOf, type ClusterConnection } from './cluster.js';

export interface LeaderElectionOptions {
  /** The Lease's name in the connection's namespace. */
  leaseName: string;
  /** Who we are: unique per process. */
  identity: string;
  /** A holder that has not renewed for this long has lost the lease. */
  leaseDurationSeconds: number;
}

/**
 * One leader among the replicas, through a coordination.k8s.io Lease, as client-go's leaderelection
 * does it: the holder renews every third of the lease duration; any other replica takes the lease once
 * it has gone unrenewed for a whole duration. Every write carries the resourceVersion read, so two
 * candidates never both win. A leader that cannot renew within the duration steps down by itself,
 * before anyone else may take over.
 */
export class LeaderElection {
  private readonly coordination: CoordinationV1Api;
  private readonly namespace: string;
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private lastRenewed = 0;
  private stopped = true;
  /** The holder and renew time as we last saw them, and when (our clock) we saw them change. */
  private observed: { holder: string; renewTime: string; at: number } | undefined;

  constructor(
    connection: ClusterConnection,
    private readonly options: LeaderElectionOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly onChange: (leading: boolean) => void,
  ) {
    this.coordination = apiClient(connection.kubeConfig, CoordinationV1Api);
    this.namespace = connection.namespace;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stops campaigning; a leader releases the lease so that another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.coordination.readNamespacedLease({ namespace: this.namespace, name: this.options.leaseName });
      if (lease.spec?.holderIdentity === this.options.identity) {
        await this.coordination.replaceNamespacedLease({ namespace: this.namespace, name: this.options.leaseName, body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } } });
      }
    } catch (error) {
      this.logger.warn({ err: describeApiError(error) }, 'could not release the lease; it expires by itself');
    }
  }

  private async tick(): Promise<void> {
    try {
      // Another holder means we lead no longer; an error leaves it to the duration to decide.
      this.lastRenewed = (await this.tryAcquireOrRenew()) ? this.clock.now() : 0;
    } catch (error) {
      this.logger.warn({ err: describeApiError(error), lease: this.options.leaseName }, 'lease check failed');
    }
    if (this.stopped) return;
    const durationMs = this.options.leaseDurationSeconds * 1000;
    // A leader that has not renewed for most of the duration stops acting before the lease can pass on.
    const holding = this.lastRenewed > 0 && this.clock.now() - this.lastRenewed < durationMs * 0.8;
    this.setLeading(holding);
    const period = this.leading ? durationMs / 3 : durationMs / 5;
    this.timer = setTimeout(() => void this.tick(), period * (0.9 + Math.random() * 0.2));
  }

  /** True if we hold the lease after this call. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { leaseName: name, identity, leaseDurationSeconds } = this.options;
    const now = new V1MicroTime(this.clock.now());
    let lease: V1Lease;
    try {
      lease = await this.coordination.readNamespacedLease({ namespace: this.namespace, name });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      return this.write(() =>
        this.coordination.createNamespacedLease({
          namespace: this.namespace,
          body: { metadata: { name }, spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 } },
        }),
      );
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = String(spec.renewTime ?? '');
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
      this.observed = { holder, renewTime, at: this.clock.now() };
    }
    // Expiry is judged by our own clock from when we saw the lease last change, not by comparing
    // clocks across machines.
    const expired = holder === '' || this.clock.now() - this.observed.at > (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (holder !== identity && !expired) return false;
    const taking = holder !== identity;
    return this.write(() =>
      this.coordination.replaceNamespacedLease({
        namespace: this.namespace,
        name,
        body: {
          ...lease,
          spec: {
            ...spec,
            holderIdentity: identity,
            leaseDurationSeconds,
            renewTime: now,
            ...(taking ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
          },
        },
      }),
    );
  }

  /** A write that another candidate won (409) means we do not hold the lease. */
  private async write(call: () => Promise<V1Lease>): Promise<boolean> {
    try {
      await call();
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.logger.info({ lease: this.options.leaseName, identity: this.options.identity }, leading ? 'became the leader' : 'no longer the leader');
    this.onChange(leading);
  }
}
