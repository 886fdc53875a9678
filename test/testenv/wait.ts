import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** What is awaited, for the error message. */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Errors from `check` for which waiting stops at once (rethrown as they are). */
  isFatal?: (error: unknown) => boolean;
}

/** Thrown by waitFor when the condition did not hold before the deadline. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly lastError: unknown,
  ) {
    const last = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
    super(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
  }
}

/**
 * Polls `check` until it returns a value other than undefined/false, or the deadline passes.
 * Errors thrown by `check` count as "not yet" and the last one is reported on timeout.
 */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 100;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result !== undefined && result !== false) return result;
    } catch (error) {
      if (options.isFatal?.(error)) throw error;
      lastError = error;
    }
    if (Date.now() + interval > deadline) throw new WaitTimeoutError(options.what, options.timeoutMs, lastError);
    await sleep(interval);
  }
}
