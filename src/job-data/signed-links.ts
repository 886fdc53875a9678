import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock } from '../clock.js';
import { ConfigError, LinkRefused } from '../errors.js';

/**
 * Links to a job's output files that expire: the job, the output and the expiry time are signed
 * with the server's key (HMAC-SHA256), so a link cannot be made for another file or stretched.
 */
export class SignedLinks {
  constructor(
    private readonly key: Buffer,
    private readonly clock: Clock,
    readonly ttlSeconds: number,
    private readonly baseUrl: string,
  ) {}

  href(jobID: string, outputId: string): string {
    const expires = Math.floor(this.clock.now() / 1000) + this.ttlSeconds;
    const query = new URLSearchParams({ expires: String(expires), signature: this.sign(jobID, outputId, expires) });
    return `${this.baseUrl}/jobs/${encodeURIComponent(jobID)}/outputs/${encodeURIComponent(outputId)}?${query}`;
  }

  /** Throws LinkRefused, saying why, unless the link was signed here and has not expired. */
  check(jobID: string, outputId: string, expires: number, signature: string): void {
    const expected = Buffer.from(this.sign(jobID, outputId, expires));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new LinkRefused('This link to a job output was not issued by this server, or was changed. Ask GET /jobs/{jobId}/results for a new one.');
    }
    if (expires * 1000 < this.clock.now()) {
      throw new LinkRefused(`This link to a job output expired at ${new Date(expires * 1000).toISOString()}. Ask GET /jobs/{jobId}/results for a new one.`);
    }
  }

  private sign(jobID: string, outputId: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${jobID}\n${outputId}\n${expires}`).digest('base64url');
  }
}

/**
 * The key links are signed with: K8S_MANAGER_LINK_KEY if set (replicas must share it), else one made
 * once and kept in `keyFile`, so links outlive a restart; with no file (a store in memory), a new one.
 */
export function linkKey(env: NodeJS.ProcessEnv, keyFile: string | undefined): Buffer {
  if (env.K8S_MANAGER_LINK_KEY !== undefined) {
    const key = Buffer.from(env.K8S_MANAGER_LINK_KEY);
    if (key.length < MIN_KEY_BYTES) throw new ConfigError(`K8S_MANAGER_LINK_KEY must be at least ${MIN_KEY_BYTES} bytes long (it is ${key.length}): a short key lets links be forged.`);
    return key;
  }
  if (!keyFile) return randomBytes(32);
  if (!existsSync(keyFile)) {
    // Written whole under another name, then linked into place: a reader never sees a partial key,
    // and of two servers starting at once the first link wins and both use it.
    mkdirSync(dirname(keyFile), { recursive: true });
    const draft = `${keyFile}.${process.pid}.tmp`;
    writeFileSync(draft, randomBytes(32), { mode: 0o600 });
    try {
      linkSync(draft, keyFile);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      rmSync(draft, { force: true });
    }
  }
  const key = readFileSync(keyFile);
  if (key.length < MIN_KEY_BYTES) throw new ConfigError(`The link key in ${keyFile} is ${key.length} bytes long; remove the file to make a new one.`);
  return key;
}

const MIN_KEY_BYTES = 32;
