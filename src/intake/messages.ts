// What a queued execute request is: the message's body and properties read into a process id, an OGC
// execute request and the job's origin (pure; the consumer does the broker's part).
import { createHash } from 'node:crypto';
import type { IntakeQueueConfig } from '../config/load.js';
import { InvalidRequest, PayloadTooLarge, shortName, UnsupportedMediaType } from '../errors.js';
import { jsonValueProblem, type JsonBodyLimits } from '../http/json-body.js';
import { TOKEN_INPUT, type QueuedRequest } from '../jobs/manager.js';

/** The parts of an AMQP message the intake reads. */
export interface QueueMessage {
  /** The bytes, or the value the client library already parsed (it parses application/json bodies). */
  body: unknown;
  contentType?: string | undefined;
  messageId?: string | undefined;
  correlationId?: string | undefined;
  replyTo?: string | undefined;
}

export interface IntakeRequest extends QueuedRequest {
  processId: string;
  /** The same JSON as the body of POST /processes/{id}/execution. */
  execute: unknown;
}

/** What the image of a compatible message must be, when it names one: the process's own. */
export type ImageOf = (processId: string) => string | undefined;

/**
 * The job id of a message: derived from the queue and the message_id, so a redelivered message (or the
 * same message seen by another replica) finds the job it made. Shaped as a UUID (version 8: custom).
 */
export function jobIdOf(queue: string, messageId: string): string {
  const hex = createHash('sha256').update(`amqp\0${queue}\0${messageId}`).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Reads one message: `{"process": id, "execute": {...}}`, or, on a queue with a `compatible` mapping,
 * `{"process"?: id, "image"?: its image, <field>: value, ...}` whose mapped fields become inputs (and whose
 * timeout field, if configured, bounds the job). Throws
 * a ProblemError saying what is wrong; the message is then dead-lettered.
 */
export function readQueueMessage(message: QueueMessage, queue: IntakeQueueConfig, limits: JsonBodyLimits, imageOf: ImageOf): IntakeRequest {
  const { messageId } = message;
  if (!messageId) {
    throw new InvalidRequest('The message has no message_id property: the intake needs one to make a redelivered message find its job (set a unique message_id on every request).');
  }
  const type = message.contentType;
  if (type && !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new UnsupportedMediaType(`The message body must be application/json, not ${shortName(type.split(';')[0]!)}.`);
  }
  const body = parsedBody(message.body, limits);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidRequest('The message body must be a JSON object: {"process": "<process id>", "execute": {<execute request>}}.');
  const fields = body as Record<string, unknown>;
  const origin = {
    kind: 'amqp' as const,
    queue: queue.name,
    messageId,
    ...(message.replyTo ? { replyTo: message.replyTo } : {}),
    ...(message.correlationId !== undefined ? { correlationId: message.correlationId } : {}),
  };
  const queued = { jobID: jobIdOf(queue.name, messageId), origin };
  if (Object.hasOwn(fields, 'execute') || !queue.compatible) return { ...queued, ...ogcRequest(fields) };
  return { ...queued, ...compatibleRequest(fields, queue.compatible, imageOf) };
}

/** The body as JSON within the limits of an HTTP request body: size, nesting depth, finite numbers. */
function parsedBody(raw: unknown, limits: JsonBodyLimits): unknown {
  const tooLarge = (bytes: number) => new PayloadTooLarge(`The message body has ${bytes} bytes; this server takes at most ${limits.maxBytes} (server.limits.max_body_bytes).`);
  let body = raw;
  if (Buffer.isBuffer(raw) || typeof raw === 'string') {
    const bytes = Buffer.byteLength(raw);
    if (bytes > limits.maxBytes) throw tooLarge(bytes);
    try {
      body = JSON.parse(raw.toString());
    } catch (error) {
      throw new InvalidRequest(`The message body is not JSON: ${(error as Error).message}`);
    }
  }
  // Checked before it is serialised again: the walk has no recursion, JSON.stringify has.
  const problem = jsonValueProblem(body, limits.maxDepth);
  if (problem) throw problem;
  if (body !== raw) return body;
  const bytes = Buffer.byteLength(JSON.stringify(body));
  if (bytes > limits.maxBytes) throw tooLarge(bytes);
  return body;
}

function ogcRequest(fields: Record<string, unknown>): Pick<IntakeRequest, 'processId' | 'execute'> {
  const unknown = Object.keys(fields).filter((name) => name !== 'process' && name !== 'execute');
  if (unknown.length > 0) throw new InvalidRequest(`The message has members other than 'process' and 'execute': ${unknown.slice(0, 5).map((name) => `'${shortName(name)}'`).join(', ')}.`);
  if (typeof fields.process !== 'string' || fields.process === '') throw new InvalidRequest("The message's 'process' must name a process (a non-empty string).");
  if (!Object.hasOwn(fields, 'execute')) throw new InvalidRequest("The message has no 'execute' member (the execute request, as for POST /processes/{id}/execution).");
  return { processId: fields.process, execute: fields.execute };
}

/**
 * The simpler shape: mapped fields become inputs and the timeout field bounds the job; the process is one
 * of the configured ones, and so is its image. Any other field is refused: dropped, it would be an input lost.
 */
function compatibleRequest(fields: Record<string, unknown>, compatible: NonNullable<IntakeQueueConfig['compatible']>, imageOf: ImageOf): Pick<IntakeRequest, 'processId' | 'execute' | 'timeoutSeconds'> {
  const { processes, inputs: mapping, timeoutField } = compatible;
  const unmapped = Object.keys(fields).filter((name) => !Object.hasOwn(mapping, name) && name !== 'process' && name !== 'image' && name !== timeoutField);
  if (unmapped.length > 0) {
    const known = ['process', 'image', ...Object.keys(mapping), ...(timeoutField !== undefined ? [timeoutField] : [])].join(', ');
    throw new InvalidRequest(`The message has fields this queue does not map: ${unmapped.slice(0, 5).map((name) => `'${shortName(name)}'`).join(', ')} (it takes ${known}).`);
  }
  const named = fields.process;
  if (named === undefined && processes.length > 1) throw new InvalidRequest(`The message must name its process in 'process': one of ${processes.join(', ')}.`);
  const processId = named ?? processes[0]!;
  if (typeof processId !== 'string' || !processes.includes(processId)) {
    throw new InvalidRequest(`The message's process '${shortName(String(processId))}' is not one this queue takes (${processes.join(', ')}).`);
  }
  if (fields.image !== undefined && fields.image !== imageOf(processId)) {
    throw new InvalidRequest(`The message names the image '${shortName(String(fields.image), 200)}', which is not the image of process '${processId}': a message never chooses an image.`);
  }
  const inputs = Object.fromEntries(Object.entries(mapping).filter(([field]) => Object.hasOwn(fields, field)).map(([field, input]) => [input, fields[field]]));
  const timeout = timeoutField !== undefined && Object.hasOwn(fields, timeoutField) ? fields[timeoutField] : undefined;
  if (timeout !== undefined && !(Number.isSafeInteger(timeout) && (timeout as number) > 0)) {
    throw new InvalidRequest(`The message's '${timeoutField}' must be whole seconds, a positive integer, not ${shortName(JSON.stringify(timeout), 100)}.`);
  }
  return { processId, execute: { inputs, response: 'document' }, ...(timeout !== undefined ? { timeoutSeconds: timeout as number } : {}) };
}

/** What stands in a dead letter for the API token the message carried. */
export const REDACTED = '(redacted)';

/**
 * The message's text with the API token replaced, for its dead letter: the `token` member (a string or
 * {"value": ...}) wherever it is, and on a queue with `compatible` each field mapped to the token input.
 * The rest of the text is kept byte for byte; a token behind JSON escapes in its name is missed.
 */
export function withoutToken(text: string, queue: IntakeQueueConfig): string {
  const names = [TOKEN_INPUT, ...Object.entries(queue.compatible?.inputs ?? {}).filter(([, input]) => input === TOKEN_INPUT).map(([field]) => field)];
  const escaped = [...new Set(names)].map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const member = new RegExp(`("(?:${escaped.join('|')})"\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"|\\{[^{}]*\\}|[^,}\\]\\s]+)`, 'g');
  return text.replace(member, (_, name: string) => `${name}"${REDACTED}"`);
}
