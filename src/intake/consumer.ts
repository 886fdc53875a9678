import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ConsumerStatus, type AsyncMessage, type Connection, type Consumer, type Publisher } from 'rabbitmq-client';
import type { IntakeConfig, IntakeQueueConfig } from '../config/load.js';
import { ClusterRefusedJob, IntakeFailed, IntakeRefused, ProblemError, TokenNotConfigured } from '../errors.js';
import { problemDocument } from '../http/problem.js';
import type { JsonBodyLimits } from '../http/json-body.js';
import type { JobManager } from '../jobs/manager.js';
import { readQueueMessage, withoutToken, type ImageOf, type IntakeRequest } from './messages.js';

/** Failures that pass (the cluster or the data bucket unreachable, a cache not current): the message is taken again later. */
function isTransient(error: unknown): boolean {
  // A missing API token is a 503 too, but waiting does not set it; nor does asking a cluster that refused the Job again.
  return error instanceof ProblemError && (error.status === 502 || error.status === 503) && !(error instanceof TokenNotConfigured) && !(error instanceof ClusterRefusedJob);
}

export interface IntakeOptions {
  limits: JsonBodyLimits;
  imageOf: ImageOf;
  /** Why this process's jobs cannot be taken here, if they cannot (local processes, when the intake runs alone). */
  refusal(processId: string): string | undefined;
  /** How long a message that goes back to the queue is held first (ms); default 1–5 s, jittered. */
  requeuePause?: () => number;
}

export interface IntakeMetrics {
  taken: number;
  deadLettered: number;
  requeued: number;
}

/**
 * Takes execute requests from the configured queues and submits them like POST /processes/{id}/execution
 * (decision 0025). A message is acknowledged only once its job exists; its job id comes from the
 * message, so a redelivery finds it. A message that cannot become a job is published to the dead-letter
 * queue as problem+json (with confirms) and then acknowledged, never requeued; a passing failure (the
 * cluster unreachable) puts it back after a jittered pause. Prefetch bounds the messages in flight.
 */
export class QueueIntake {
  private readonly consumers: Consumer[] = [];
  private readonly deadLetters: Publisher;
  readonly metrics: IntakeMetrics = { taken: 0, deadLettered: 0, requeued: 0 };
  /** The submission under way for each job id: a copy of a message (the same message_id) waits for it, then finds its job. */
  private readonly inFlight = new Map<string, Promise<unknown>>();
  /** Resolves once every queue is declared and consumed (the server does not wait for it: the broker may be down). */
  ready: Promise<void> = Promise.resolve();

  constructor(
    private readonly connection: Connection,
    private readonly config: IntakeConfig,
    private readonly jobs: Pick<JobManager, 'execute'>,
    private readonly options: IntakeOptions,
    private readonly logger: Logger,
  ) {
    this.deadLetters = connection.createPublisher({ confirm: true, maxAttempts: 3, queues: config.queues.map((queue) => ({ queue: queue.deadLetterQueue, durable: true })) });
  }

  start(): void {
    for (const queue of this.config.queues) {
      const consumer = this.connection.createConsumer(
        {
          queue: queue.name,
          // Messages the broker itself rejects (or that a consumer without this server drops) land there too.
          queueOptions: { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue.deadLetterQueue } },
          qos: { prefetchCount: this.config.prefetch },
          concurrency: this.config.prefetch,
          requeue: true,
        },
        (message) => this.take(queue, message),
      );
      consumer.on('ready', () => this.logger.info({ queue: queue.name, prefetch: this.config.prefetch }, 'taking execute requests from the queue'));
      consumer.on('error', (error: Error) => this.logger.warn({ queue: queue.name, err: error.message }, 'queue consumer error; it is set up again'));
      this.consumers.push(consumer);
    }
    // Not events.once: it rejects on the consumer's 'error' (a setup that failed while the broker is down, retried by
    // the client), and nothing awaits this promise in a server, so that rejection would be unhandled and end the process.
    this.ready = Promise.all(this.consumers.map((consumer) => new Promise<void>((resolve) => consumer.once('ready', () => resolve())))).then(() => undefined);
  }

  /** Takes no more messages: those being handled finish (and are acknowledged); prefetched ones go back to the queue. */
  async stop(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.close()));
    await this.deadLetters.close();
  }

  /** Closes the broker connection (shared with the reply sender): last, once replies are no longer sent. */
  disconnect(): Promise<void> {
    return this.connection.close();
  }

  private async take(queue: IntakeQueueConfig, message: AsyncMessage): Promise<ConsumerStatus> {
    const log = { queue: queue.name, messageId: message.messageId, redelivered: message.redelivered };
    // The client library hands over application/json parsed, and validation fills in defaults: the dead letter keeps what came.
    const original = Buffer.isBuffer(message.body) || typeof message.body === 'string' ? Buffer.from(message.body) : Buffer.from(JSON.stringify(message.body));
    let request: IntakeRequest | undefined;
    try {
      request = readQueueMessage(message, queue, this.options.limits, this.options.imageOf);
      const refusal = this.options.refusal(request.processId);
      if (refusal) throw new IntakeRefused(refusal);
      const { job } = await this.oneAtATime(request.jobID, () => this.jobs.execute(request!.processId, request!.execute, { respondAsync: true }, request));
      this.metrics.taken++;
      this.logger.info({ ...log, jobId: job.jobID, processId: job.processID }, 'queued execute request taken');
      return ConsumerStatus.ACK;
    } catch (error) {
      if (isTransient(error)) return this.requeue(log, error, 'queued execute request could not be taken now; it goes back to the queue');
      try {
        await this.deadLetter(queue, message, original, error);
      } catch (failure) {
        // Unconfirmed, so the message is kept: it comes back, and is refused again then.
        return this.requeue(log, failure, 'a refused request could not be dead-lettered; it goes back to the queue');
      }
      return ConsumerStatus.ACK;
    }
  }

  /** Back to the queue after a jittered pause, held meanwhile: a broken cluster or broker is not asked in a tight loop. */
  private async requeue(log: object, error: unknown, why: string): Promise<ConsumerStatus> {
    this.metrics.requeued++;
    this.logger.warn({ ...log, err: (error as Error).message }, why);
    await sleep(this.options.requeuePause?.() ?? 1000 + Math.random() * 4000);
    return ConsumerStatus.REQUEUE;
  }

  /**
   * Copies of one message taken at once (a producer's retried publish, a redelivery while the first copy
   * is still handled) are submitted one after the other: the later ones find the job, instead of racing
   * it into the store (a local job's id is unique there: the copy would fail and be dead-lettered).
   */
  private async oneAtATime<T>(jobID: string, submit: () => Promise<T>): Promise<T> {
    const mine = (this.inFlight.get(jobID) ?? Promise.resolve()).catch(() => undefined).then(submit);
    this.inFlight.set(jobID, mine);
    try {
      return await mine;
    } finally {
      if (this.inFlight.get(jobID) === mine) this.inFlight.delete(jobID);
    }
  }

  /** The problem (what is wrong, and the original message) on the dead-letter queue, confirmed before the original is acknowledged. */
  private async deadLetter(queue: IntakeQueueConfig, message: AsyncMessage, original: Buffer, error: unknown): Promise<void> {
    const problem = error instanceof ProblemError ? error : new IntakeFailed(`The request could not be taken: ${(error as Error).message ?? String(error)}`);
    if (!(error instanceof ProblemError)) this.logger.error({ queue: queue.name, messageId: message.messageId, err: error }, 'queued execute request failed');
    const utf8 = original.toString('utf8');
    const readable = Buffer.from(utf8, 'utf8').equals(original);
    // The problem says why; the API token the message carried is never repeated (latin1 keeps every other byte of a body that is not UTF-8).
    const text = readable ? withoutToken(utf8, queue) : Buffer.from(withoutToken(original.toString('latin1'), queue), 'latin1').toString('base64');
    const document = {
      ...(JSON.parse(problemDocument(problem)) as object),
      queue: queue.name,
      ...(message.messageId ? { messageId: message.messageId } : {}),
      originalBody: text,
      ...(readable ? {} : { originalBodyEncoding: 'base64' }),
    };
    await this.deadLetters.send(
      {
        routingKey: queue.deadLetterQueue,
        durable: true,
        contentType: 'application/problem+json',
        ...(message.messageId ? { messageId: message.messageId } : {}),
        ...(message.correlationId !== undefined ? { correlationId: message.correlationId } : {}),
        ...(message.replyTo ? { replyTo: message.replyTo } : {}),
        headers: { ...message.headers, 'x-original-queue': queue.name, 'x-original-content-type': message.contentType ?? '' },
      },
      Buffer.from(JSON.stringify(document)),
    );
    this.metrics.deadLettered++;
    this.logger.warn({ queue: queue.name, messageId: message.messageId, status: problem.status, reason: problem.message }, 'queued execute request refused; dead-lettered');
  }
}
