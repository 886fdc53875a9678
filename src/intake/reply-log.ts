import { addAbortSignal, type Readable } from 'node:stream';
import type { LogRequest } from '../jobs/backend.js';

/** The end of a log: at most the bound's bytes of text, whether earlier bytes were left out, and the log's whole size. */
export interface LogTail {
  tail: string;
  truncated: boolean;
  bytes: number;
}

/**
 * What a reply says of the job's log (decision 0025): its tail and where the whole log is, or why there
 * is none. Queue workers wrote their log back with the answer; a pipeline that can't follow a link still
 * gets the part that explains a failure.
 */
export type ReplyLog = { log: LogTail & { href: string } } | { logUnavailable: string };

export interface ReplyLogOptions {
  maxBytes: number;
  timeoutMs: number;
  /** Never sent, should a log ever print it (pods are never given the API token). */
  secret?: string;
}

/**
 * The last `maxBytes` of a stream, in a ring buffer of that size: a log may be GiBs, the memory stays
 * the bound. A tail that starts inside a UTF-8 character starts at the next one instead.
 */
export async function readTail(stream: AsyncIterable<Buffer | string>, maxBytes: number): Promise<LogTail> {
  const ring = Buffer.alloc(maxBytes);
  let total = 0;
  for await (const data of stream) {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    const kept = chunk.length > maxBytes ? chunk.subarray(chunk.length - maxBytes) : chunk;
    total += chunk.length;
    const at = (total - kept.length) % maxBytes;
    const first = Math.min(kept.length, maxBytes - at);
    kept.copy(ring, at, 0, first);
    kept.copy(ring, 0, first);
  }
  const truncated = total > maxBytes;
  let tail = truncated ? Buffer.concat([ring.subarray(total % maxBytes), ring.subarray(0, total % maxBytes)]) : ring.subarray(0, total);
  if (truncated) {
    let start = 0;
    while (start < 3 && start < tail.length && (tail[start]! & 0xc0) === 0x80) start++; // continuation bytes of a cut character
    tail = tail.subarray(start);
  }
  return { tail: tail.toString('utf8'), truncated, bytes: total };
}

/**
 * The tail of the job's main container log, read within `timeoutMs`; any failure (a local process has no
 * log, the pod is gone, the cluster is slow) becomes the reason, never a failed or late reply.
 */
export async function replyLog(open: (request: LogRequest) => Promise<Readable>, href: string, options: ReplyLogOptions): Promise<ReplyLog> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    const log = await untilAborted(open({ follow: false, signal }), signal);
    const tail = await readTail(addAbortSignal(signal, log), options.maxBytes);
    if (options.secret) tail.tail = tail.tail.replaceAll(options.secret, '(redacted)');
    return { log: { ...tail, href } };
  } catch (error) {
    if (signal.aborted) return { logUnavailable: `The log could not be read within ${options.timeoutMs / 1000} s; it is at ${href}.` };
    return { logUnavailable: (error as Error).message };
  }
}

/** The opened log, or a rejection once the signal fires (a log opened after that is closed at once). */
function untilAborted(opening: Promise<Readable>, signal: AbortSignal): Promise<Readable> {
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', abort, { once: true });
    opening.then(
      (log) => {
        signal.removeEventListener('abort', abort);
        if (signal.aborted) log.destroy();
        else resolve(log);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error as Error);
      },
    );
  });
}
