import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { NotificationsConfig } from '../config/load.js';
import { NOTIFICATION_URIS, pendingNotifications, type JobRecord, type NotificationKind, type NotificationState } from '../jobs/job.js';
import type { Delivery, NotificationSender } from './sender.js';

/** Where the notifier reads jobs and keeps each notification's state (the job manager). */
export interface NotificationLedger {
  onJobChange(listener: (job: JobRecord) => void): void;
  getJob(jobID: string): Promise<JobRecord>;
  recordNotification(jobID: string, kind: NotificationKind, expected: NotificationState, next: NotificationState): Promise<boolean>;
  withNotifications(finishedSince: number): Promise<JobRecord[]>;
}

/** What each notification carries: the statusInfo while running, the results document, the exception. */
export type NotificationPayloads = Record<NotificationKind, (job: JobRecord) => Promise<unknown>>;

/** Where a delivery attempt leaves its notification: sent, waiting to be retried, or given up. */
export type SettledState = 'sent' | 'waiting' | 'failed';

/**
 * Who sends each channel's notifications: callbacks over HTTP, replies to a queue. A notifier leaves
 * the notifications of a channel it has no sender for to the process that has one (the intake alone).
 */
export interface NotificationSenders {
  callback?: NotificationSender;
  reply?: NotificationSender;
}

/** Longer than a delivery may take, so a claim outlives the request it covers. */
const CLAIM_MARGIN_MS = 5000;

/**
 * Calls back the subscriber of each job when it runs, succeeds or fails (Part 1 callbacks), at least
 * once and, across replicas, from one at a time: a replica first claims the delivery with a
 * compare-and-set of its state on the job, and settles it after (decision 0017). Failures are retried
 * with jittered exponential backoff, up to `maxAttempts` and `deadlineMs`; the state lives with the
 * job, so a restarted server or another replica carries on where this one stopped.
 */
export class Notifier {
  private readonly busy = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly deliveryListeners: Array<(kind: NotificationKind, settled: SettledState) => void> = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly ledger: NotificationLedger,
    private readonly payloads: NotificationPayloads,
    private readonly senders: NotificationSenders,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: NotificationsConfig,
    private readonly replica: string = randomUUID(),
  ) {}

  start(): void {
    this.ledger.onJobChange((job) => this.consider(job));
    void this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), this.options.sweepMs);
    this.sweepTimer.unref();
  }

  /** Calls the listener after each delivery this replica attempted, with the state it settled in. */
  onDelivery(listener: (kind: NotificationKind, settled: SettledState) => void): void {
    this.deliveryListeners.push(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweepTimer);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(Object.values(this.senders).map((sender) => sender.close()));
  }

  /** Every job whose notifications may still be due: after a restart, or left by a replica that stopped. */
  private async sweep(): Promise<void> {
    try {
      const since = this.clock.now() - this.options.deadlineMs - this.options.maxBackoffMs;
      for (const job of await this.ledger.withNotifications(since)) this.consider(job);
    } catch (error) {
      this.logger.warn({ err: String(error) }, 'looking for pending notifications failed; the next sweep retries');
    }
  }

  private consider(job: JobRecord): void {
    if (this.stopped) return;
    for (const kind of pendingNotifications(job).filter((due) => this.senderOf(due))) {
      const wait = readyAt(job.notifications![kind]!) - this.clock.now();
      if (wait > 0) this.schedule(job.jobID, kind, wait);
      else void this.attempt(job.jobID, kind);
    }
  }

  private schedule(jobID: string, kind: NotificationKind, delayMs: number): void {
    const key = `${jobID}/${kind}`;
    if (this.stopped || this.timers.has(key)) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      void this.ledger.getJob(jobID).then((job) => this.consider(job), () => undefined);
    }, delayMs);
    timer.unref();
    this.timers.set(key, timer);
  }

  private async attempt(jobID: string, kind: NotificationKind): Promise<void> {
    const key = `${jobID}/${kind}`;
    if (this.busy.has(key)) return;
    this.busy.add(key);
    try {
      await this.deliver(jobID, kind);
    } catch (error) {
      this.logger.warn({ jobId: jobID, notification: kind, err: String(error) }, 'a notification could not be handled; the next sweep retries');
    } finally {
      this.busy.delete(key);
    }
  }

  private async deliver(jobID: string, kind: NotificationKind): Promise<void> {
    const job = await this.ledger.getJob(jobID);
    if (!pendingNotifications(job).includes(kind)) return;
    const state = job.notifications![kind]!;
    const now = this.clock.now();
    if (readyAt(state) > now) return this.schedule(jobID, kind, readyAt(state) - now);
    const since = 'since' in state ? state.since : now;
    // A claim that ran out without an outcome (its replica stopped mid-send) counts as an attempt too.
    if (state.state === 'sending' && (state.attempts >= this.options.maxAttempts || now - since > this.options.deadlineMs)) {
      await this.ledger.recordNotification(jobID, kind, state, { state: 'failed', attempts: state.attempts, since, at: now, error: 'its last delivery was claimed but never recorded (the replica sending it stopped)' });
      return;
    }
    const attempts = state.attempts + 1;
    const claim: NotificationState = { state: 'sending', attempts, since, by: this.replica, until: now + this.options.timeoutMs + CLAIM_MARGIN_MS };
    if (!(await this.ledger.recordNotification(jobID, kind, state, claim))) return; // another replica has it
    const outcome = await this.send(job, kind, attempts);
    const at = this.clock.now();
    const next = this.settlement(outcome, attempts, since, at);
    if (!(await this.ledger.recordNotification(jobID, kind, claim, next))) {
      this.logger.warn({ jobId: jobID, notification: kind }, 'a notification\'s claim ran out while it was sent; another replica may send it again');
      return;
    }
    for (const listener of this.deliveryListeners) listener(kind, next.state);
    const log = { jobId: jobID, notification: kind, attempts };
    if (next.state === 'sent') this.logger.info(log, 'notification delivered');
    else if (next.state === 'failed') this.logger.warn({ ...log, error: next.error }, 'notification given up');
    else {
      this.logger.info({ ...log, error: next.error, retryInMs: next.nextAt - at }, 'notification not delivered; retrying');
      this.schedule(jobID, kind, next.nextAt - at);
    }
  }

  private async send(job: JobRecord, kind: NotificationKind, attempt: number): Promise<Delivery> {
    let body: unknown;
    try {
      body = await this.payloads[kind](job);
    } catch (error) {
      return { ok: false, retry: true, error: `its content could not be made: ${(error as Error).message}` };
    }
    // Stable across attempts and replicas, so that a receiver can drop a repeated delivery.
    const headers: Record<string, string> = { 'idempotency-key': `${job.jobID}:${kind}` };
    if (kind === 'reply') {
      // Which attempt: a broker redelivers a message as it was, so a receiver tells a repeat from a redelivery.
      headers.attempt = String(attempt);
      if (job.origin?.correlationId !== undefined) headers['correlation-id'] = job.origin.correlationId;
      return this.senderOf(kind)!.send(job.origin!.replyTo!, body, headers);
    }
    return this.senderOf(kind)!.send(job.subscriber![NOTIFICATION_URIS[kind]]!, body, headers);
  }

  private senderOf(kind: NotificationKind): NotificationSender | undefined {
    return kind === 'reply' ? this.senders.reply : this.senders.callback;
  }

  private settlement(outcome: Delivery, attempts: number, since: number, at: number): Extract<NotificationState, { state: SettledState }> {
    if (outcome.ok) return { state: 'sent', attempts, since, at };
    const { maxAttempts, deadlineMs, initialBackoffMs, maxBackoffMs } = this.options;
    // Equal jitter: half the backoff fixed, half random, so that retries of many jobs spread out.
    const backoff = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (attempts - 1)) * (0.5 + Math.random() / 2);
    if (!outcome.retry || attempts >= maxAttempts || at + backoff - since > deadlineMs) return { state: 'failed', attempts, since, at, error: outcome.error };
    return { state: 'waiting', attempts, since, nextAt: at + backoff, error: outcome.error };
  }
}

/** When a delivery may next be tried: a pending one at once, a claimed one when its claim runs out. */
function readyAt(state: NotificationState): number {
  switch (state.state) {
    case 'pending':
      return 0;
    case 'sending':
      return state.until;
    case 'waiting':
      return state.nextAt;
    default:
      return Number.POSITIVE_INFINITY;
  }
}
