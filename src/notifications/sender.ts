import { Agent, request } from 'undici';
import { guardedLookup, urlRefusal, type UrlPolicy } from '../net/url-guard.js';

/** What became of one delivery: done, or why not and whether trying again may help. */
export type Delivery = { ok: true } | { ok: false; retry: boolean; error: string };

/**
 * Sends one notification to its address: a subscriber's URI (callbacks), or a reply_to queue (replies,
 * src/intake/). `idempotency-key` in the headers is the same on every attempt and replica.
 */
export interface NotificationSender {
  send(address: string, body: unknown, headers: Record<string, string>): Promise<Delivery>;
  close(): Promise<void>;
}

/**
 * Callbacks over HTTP under the operator's URL policy: the address connected to is the one checked
 * (a name that resolves differently later gains nothing), redirects are never followed, and each
 * delivery is bounded in time. Messages (shown in the job's status) name only the host: a webhook's
 * path or query often is its secret.
 */
export class HttpCallbackSender implements NotificationSender {
  private readonly agent: Agent;

  constructor(
    private readonly policy: UrlPolicy,
    private readonly timeoutMs: number,
  ) {
    this.agent = new Agent({ connect: { lookup: guardedLookup(policy), timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  }

  async send(uri: string, body: unknown, headers: Record<string, string>): Promise<Delivery> {
    const url = new URL(uri);
    const where = url.host;
    const refusal = urlRefusal(url, this.policy); // the policy may have changed since the job was submitted
    if (refusal) return { ok: false, retry: false, error: `${where} is not called: ${refusal}` };
    try {
      const answer = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await answer.body.dump();
      const status = answer.statusCode;
      if (status >= 200 && status < 300) return { ok: true };
      const redirect = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
      return { ok: false, retry: status >= 500 || status === 408 || status === 429, error: `${where} answered ${status}${redirect}` };
    } catch (error) {
      const { code, message } = error as { code?: string; message?: string };
      if (code === 'EREFUSED_ADDRESS') return { ok: false, retry: false, error: `${where} resolves to an address this server does not call (${this.policy.settings})` };
      return { ok: false, retry: true, error: `${where} could not be reached: ${message ?? String(error)}` };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
