import { request, type RequestOptions } from 'node:https';
import { request as plainRequest, type IncomingMessage } from 'node:http';
import type { KubeConfig } from './client-node.js';

/** The API server refused a log request; `status` is its HTTP status, `message` its reason. */
export class PodLogError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface PodLogOptions {
  follow?: boolean;
  /** Aborting destroys the stream (no crash, unlike client-node's Log class). */
  signal?: AbortSignal;
}

/**
 * One container's log as a byte stream, straight from the pods/log API: never buffered whole, so a
 * log of any size costs a few chunks of memory. (client-node's readNamespacedPodLog buffers the whole
 * body into a string, and its Log class crashes the process when a stream is aborted.)
 */
export async function openPodLog(kubeConfig: KubeConfig, namespace: string, pod: string, container: string, options: PodLogOptions = {}): Promise<IncomingMessage> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(`${cluster.server.replace(/\/+$/, '')}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`);
  url.searchParams.set('container', container);
  if (options.follow) url.searchParams.set('follow', 'true');
  const requestOptions: RequestOptions = { method: 'GET', headers: { Accept: '*/*' } };
  await kubeConfig.applyToHTTPSOptions(requestOptions);
  const send = url.protocol === 'https:' ? request : plainRequest;
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const outgoing = send(url, { ...requestOptions, ...(options.signal ? { signal: options.signal } : {}) }, resolve);
    outgoing.on('error', reject);
    outgoing.end();
  });
  if (response.statusCode === 200) return response;
  const body = await readSome(response, 4096);
  let message = body;
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? body;
  } catch {
    // not a Status object: keep the text
  }
  throw new PodLogError(response.statusCode ?? 0, `the log of container '${container}' of pod ${pod} could not be read (${response.statusCode}): ${message.trim()}`);
}

async function readSome(stream: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (size < limit) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
