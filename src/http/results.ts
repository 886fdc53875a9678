import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import type { FileResult, JobResults } from '../jobs/manager.js';
import { mediaTypeOf } from '../jobs/manager.js';

type Output = JobResults['outputs'][number];

/**
 * Sends a job's results as the execute request asked: `document` gives the results JSON (output id
 * → value, or a link for an output asked by reference); `raw` gives one output in its own media type
 * (a file streamed), or several as multipart/related. Raw outputs that are all asked by reference
 * answer 204 with a Link header for each; in a multipart answer such an output is an empty part with
 * its Content-Location (Part 1, requirements sync-raw-ref and sync-raw-mixed-multi).
 */
export async function sendResults(res: Response, { job, outputs }: JobResults): Promise<void> {
  if (job.response === 'document') {
    res.status(200).json(resultsDocument(outputs));
    return;
  }
  if (outputs.every(byReference)) {
    if (outputs.length > 0) res.append('Link', outputs.map(linkHeader)); // beside the monitor link of a sync answer
    res.status(204).end();
    return;
  }
  if (outputs.length === 1) {
    const [output] = outputs as [Output];
    res.status(200).type(mediaTypeOf(output.description));
    if (!output.file) {
      res.send(encode(output));
      return;
    }
    res.set('Content-Length', String(output.file.size));
    await send(res, await output.file.open());
    return;
  }
  const boundary = `results-${randomUUID()}`;
  res.status(200).set('Content-Type', `multipart/related; boundary="${boundary}"; type="${mediaTypeOf(outputs[0]!.description)}"`);
  await send(res, Readable.from(multipart(outputs, boundary)));
}

/** Once bytes are sent, a failure can only cut the response short; the client sees it end early. */
async function send(res: Response, body: Readable): Promise<void> {
  await pipeline(body, res).catch(() => res.destroy());
}

/** The parts of a multipart/related body, files streamed in turn. */
async function* multipart(outputs: Output[], boundary: string): AsyncGenerator<Buffer | string> {
  for (const output of outputs) {
    const location = byReference(output) ? [`Content-Location: ${output.file!.href}`] : [];
    yield [`--${boundary}`, `Content-ID: <${output.id}>`, `Content-Type: ${mediaTypeOf(output.description)}`, ...location, '', ''].join('\r\n');
    if (location.length === 0) {
      if (output.file) yield* await output.file.open();
      else yield encode(output);
    }
    yield '\r\n';
  }
  yield `--${boundary}--\r\n`;
}

function byReference(output: Output): boolean {
  return output.file !== undefined && output.request.transmissionMode === 'reference';
}

/** RFC 8288: the standard names no relation for an output, so `item`, with the output id as title. */
function linkHeader(output: Output): string {
  return `<${output.file!.href}>; rel="item"; type="${output.file!.mediaType}"; title=${JSON.stringify(output.id)}`; // a quoted string, escaped
}

/** A value in its media type: text as it is, everything else as JSON. */
function encode(output: Output): string {
  const mediaType = mediaTypeOf(output.description);
  return typeof output.value === 'string' && !mediaType.endsWith('json') ? output.value : JSON.stringify(output.value);
}

/** The results document (results.yaml): output id → value, qualified value or link. */
export function resultsDocument(outputs: Output[]): Record<string, unknown> {
  return Object.fromEntries(outputs.map((output) => [output.id, inline(output)]));
}

/**
 * In a results document plain values stand as they are; an object value is wrapped as a qualified
 * value, because the standard's inlineOrRefData reserves bare objects for links and qualified values.
 * A file is a link (by reference), or its bytes as a qualified value: text as it is, binary in base64.
 */
function inline(output: Output): unknown {
  if (output.file) return inlineFile(output.file);
  const { value } = output;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return { value, mediaType: mediaTypeOf(output.description) };
  }
  return value;
}

function inlineFile(file: FileResult): unknown {
  if (!file.bytes) return { href: file.href, type: file.mediaType };
  return isText(file.mediaType)
    ? { value: file.bytes.toString('utf8'), mediaType: file.mediaType }
    : { value: file.bytes.toString('base64'), mediaType: file.mediaType, encoding: 'base64' };
}

function isText(mediaType: string): boolean {
  return /^text\/|[/+](json|xml)\b/.test(mediaType);
}
