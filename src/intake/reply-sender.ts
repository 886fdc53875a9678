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

  constructor(connection: Connection) {
    this.publisher = connection.createPublisher({ confirm: true });
  }

  /**
   * No timer of its own: a publish abandoned by one would still go out once the connection is back, a
   * second copy beside the retry. The connection bounds the wait for a channel (acquireTimeout), and a
   * connection lost before the confirm rejects the publish.
   */
  async send(queue: string, body: unknown, headers: Record<string, string>): Promise<Delivery> {
    const correlationId = headers['correlation-id'];
    try {
      await this.publisher.send(
        {
          routingKey: queue,
          durable: true,
          contentType: 'application/json',
          messageId: headers['idempotency-key'],
          ...(correlationId !== undefined ? { correlationId } : {}),
          headers: { 'x-attempt': Number(headers.attempt) },
        },
        Buffer.from(JSON.stringify(body)),
      );
      return { ok: true };
    } catch (error) {
      return { ok: false, retry: true, error: `the reply to queue '${queue}' was not confirmed: ${(error as Error).message}` };
    }
  }

  close(): Promise<void> {
    return this.publisher.close();
  }
}
