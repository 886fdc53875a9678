import type { Connection, Publisher } from 'rabbitmq-client';
import type { Delivery, NotificationSender } from '../notifications/sender.js';

/**
 * Publishes a job's answer to the reply_to queue of its message (persistent, with the message's
 * correlation_id), and counts it delivered only once the broker confirms it. The notifier claims each
 * reply on the job first (decision 0017), so one replica publishes it; the message_id is the same on
 * every attempt, for the rare repeat after a confirm lost with its connection.
 */
export class AmqpReplySender implements NotificationSender {
  private readonly publisher: Publisher;

  constructor(
    connection: Connection,
    private readonly timeoutMs: number,
  ) {
    this.publisher = connection.createPublisher({ confirm: true });
  }

  async send(queue: string, body: unknown, headers: Record<string, string>): Promise<Delivery> {
    const correlationId = headers['correlation-id'];
    const published = this.publisher.send(
      { routingKey: queue, durable: true, contentType: 'application/json', messageId: headers['idempotency-key'], ...(correlationId !== undefined ? { correlationId } : {}) },
      Buffer.from(JSON.stringify(body)),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no confirm from the broker within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      await Promise.race([published, timeout]);
      return { ok: true };
    } catch (error) {
      published.catch(() => undefined);
      return { ok: false, retry: true, error: `the reply to queue '${queue}' was not confirmed: ${(error as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.publisher.close();
  }
}
