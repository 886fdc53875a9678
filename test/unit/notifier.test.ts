import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { NotificationsConfig } from '../../src/config/load.js';
import { sameNotificationState, type JobRecord, type NotificationKind, type NotificationState } from '../../src/jobs/job.js';
import { Notifier, type NotificationLedger } from '../../src/notifications/notifier.js';
import type { Delivery, NotificationSender } from '../../src/notifications/sender.js';
import { eventually } from '../support/server.js';

/** One successful job with a successUri, kept in memory the way a backend keeps it. */
class MemoryLedger implements NotificationLedger {
  job: JobRecord = {
    jobID: 'job-1', processID: 'echo', status: 'successful', created: 0, updated: 0, finished: 0, response: 'document',
    subscriber: { successUri: 'http://receiver.test/done' }, notifications: { success: { state: 'pending', attempts: 0 } },
  };
  readonly writes: NotificationState[] = [];
  onJobChange(): void {}
  async getJob(): Promise<JobRecord> {
    return structuredClone(this.job);
  }
  async recordNotification(_jobID: string, kind: NotificationKind, expected: NotificationState, next: NotificationState): Promise<boolean> {
    if (!sameNotificationState(this.job.notifications![kind], expected)) return false;
    this.job.notifications![kind] = next;
    this.writes.push(next);
    return true;
  }
  async withNotifications(): Promise<JobRecord[]> {
    return [structuredClone(this.job)];
  }
}

class ScriptedSender implements NotificationSender {
  readonly sent: Array<Record<string, string>> = [];
  constructor(private readonly answers: (attempt: number) => Delivery) {}
  async send(_uri: string, _body: unknown, headers: Record<string, string>): Promise<Delivery> {
    this.sent.push(headers);
    return this.answers(this.sent.length);
  }
  async close(): Promise<void> {}
}

const options = (overrides: Partial<NotificationsConfig> = {}): NotificationsConfig => ({
  policy: { settings: 'manager.notifications', allowedHosts: [], allowPrivateNetworks: true },
  timeoutMs: 1000, maxAttempts: 5, deadlineMs: 60_000, initialBackoffMs: 10, maxBackoffMs: 40, sweepMs: 20, ...overrides,
});

describe('Notifier: claim, send, settle, retry', () => {
  const run = async (sender: ScriptedSender, config: NotificationsConfig, until: (ledger: MemoryLedger) => boolean) => {
    const ledger = new MemoryLedger();
    const notifier = new Notifier(ledger, { inProgress: async () => ({}), success: async () => ({ done: true }), failed: async () => ({}), reply: async () => ({}) }, { callback: sender }, { now: () => Date.now() }, pino({ level: 'silent' }), config, 'replica-a');
    notifier.start();
    try {
      await eventually(async () => ledger.job.notifications!.success!, () => until(ledger));
    } finally {
      await notifier.stop();
    }
    return ledger;
  };
  const settled = (ledger: MemoryLedger) => ['sent', 'failed'].includes(ledger.job.notifications!.success!.state);

  it('claims before sending, and settles as sent with the same idempotency key on every attempt', async () => {
    const sender = new ScriptedSender((n) => (n < 3 ? { ok: false, retry: true, error: 'answered 503' } : { ok: true }));
    const ledger = await run(sender, options(), settled);
    assert.deepEqual(ledger.writes.map((w) => w.state), ['sending', 'waiting', 'sending', 'waiting', 'sending', 'sent']);
    assert.equal((ledger.writes[0] as { by: string }).by, 'replica-a');
    assert.deepEqual(sender.sent.map((h) => h['idempotency-key']), ['job-1:success', 'job-1:success', 'job-1:success']);
    assert.equal(ledger.job.notifications!.success!.attempts, 3);
  });

  it('waits a jittered, doubling backoff between attempts, capped by max_backoff', async () => {
    const sender = new ScriptedSender(() => ({ ok: false, retry: true, error: 'answered 503' }));
    const ledger = await run(sender, options({ maxAttempts: 5 }), settled);
    // a claim runs until its time plus the timeout (1000 ms) and a margin (5000 ms); the wait counts from the claim
    const claimedAt = (i: number) => (ledger.writes[i - 1] as { until: number }).until - 1000 - 5000;
    const waits = ledger.writes.flatMap((w, i) => (w.state === 'waiting' ? [w.nextAt - claimedAt(i)] : []));
    assert.equal(waits.length, 4);
    waits.forEach((wait, i) => {
      const full = Math.min(40, 10 * 2 ** i);
      assert.ok(wait >= full / 2 - 5 && wait <= full + 50, `wait ${i + 1}: ${wait} ms, expected ${full / 2}–${full}`);
    });
    assert.deepEqual([ledger.job.notifications!.success!.state, ledger.job.notifications!.success!.attempts], ['failed', 5]);
  });

  it('gives up at once when a retry cannot help, and when the deadline would pass', async () => {
    const refused = await run(new ScriptedSender(() => ({ ok: false, retry: false, error: 'answered 400' })), options(), settled);
    assert.deepEqual(refused.job.notifications!.success, { ...refused.job.notifications!.success, state: 'failed', attempts: 1, error: 'answered 400' });
    const late = await run(new ScriptedSender(() => ({ ok: false, retry: true, error: 'answered 503' })), options({ deadlineMs: 1, maxAttempts: 100 }), settled);
    assert.equal(late.job.notifications!.success!.attempts, 1);
  });

  it('gives up a delivery whose claims keep running out without an outcome, once the attempts are spent', async () => {
    const sender = new ScriptedSender(() => ({ ok: true }));
    const ledger = new MemoryLedger();
    ledger.job.notifications!.success = { state: 'sending', attempts: 5, since: Date.now(), by: 'replica-b', until: Date.now() - 1 };
    const notifier = new Notifier(ledger, { inProgress: async () => ({}), success: async () => ({}), failed: async () => ({}), reply: async () => ({}) }, { callback: sender }, { now: () => Date.now() }, pino({ level: 'silent' }), options(), 'replica-a');
    notifier.start();
    await eventually(async () => ledger.job.notifications!.success!.state, (state) => state === 'failed');
    await notifier.stop();
    assert.equal(sender.sent.length, 0);
    assert.match(JSON.stringify(ledger.job.notifications!.success), /claimed but never recorded/);
  });

  it('leaves a delivery alone while another replica\'s claim holds', async () => {
    const sender = new ScriptedSender(() => ({ ok: true }));
    const ledger = new MemoryLedger();
    const held: NotificationState = { state: 'sending', attempts: 1, since: Date.now(), by: 'replica-b', until: Date.now() + 60_000 };
    ledger.job.notifications!.success = held;
    const notifier = new Notifier(ledger, { inProgress: async () => ({}), success: async () => ({}), failed: async () => ({}), reply: async () => ({}) }, { callback: sender }, { now: () => Date.now() }, pino({ level: 'silent' }), options(), 'replica-a');
    notifier.start();
    await new Promise((resolve) => setTimeout(resolve, 100)); // five sweeps
    await notifier.stop();
    assert.equal(sender.sent.length, 0);
    assert.deepEqual(ledger.job.notifications!.success, held);
  });
});
