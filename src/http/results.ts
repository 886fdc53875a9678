import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import type { JobResults } from '../jobs/manager.js';
import { mediaTypeOf } from '../jobs/manager.js';

type Output = JobResults['outputs'][number];

/**
 * Sends a job's results as the execute request asked: `document` gives the results JSON (output id
 * → value); `raw` gives one output in its own media type, or several as multipart/related.
 */
export function sendResults(res: Response, { job, outputs }: JobResults): void {
  if (job.response === 'document') {
    res.status(200).json(Object.fromEntries(outputs.map((output) => [output.id, inline(output)])));
    return;
  }
  if (outputs.length === 0) {
    res.status(204).end();
    return;
  }
  if (outputs.length === 1) {
    const [output] = outputs as [Output];
    res.status(200).type(mediaTypeOf(output.description)).send(encode(output));
    return;
  }
  const boundary = `results-${randomUUID()}`;
  const parts = outputs.map((output) =>
    [`--${boundary}`, `Content-ID: <${output.id}>`, `Content-Type: ${mediaTypeOf(output.description)}`, '', encode(output)].join('\r\n'),
  );
  res
    .status(200)
    .set('Content-Type', `multipart/related; boundary="${boundary}"; type="${mediaTypeOf(outputs[0]!.description)}"`)
    .send(Buffer.from(`${parts.join('\r\n')}\r\n--${boundary}--\r\n`));
}

/** A value in its media type: text as it is, everything else as JSON. */
function encode(output: Output): string {
  const mediaType = mediaTypeOf(output.description);
  return typeof output.value === 'string' && !mediaType.endsWith('json') ? output.value : JSON.stringify(output.value);
}

/**
 * In a results document plain values stand as they are; an object value is wrapped as a qualified
 * value, because the standard's inlineOrRefData reserves bare objects for links and qualified values.
 */
function inline(output: Output): unknown {
  const { value } = output;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return { value, mediaType: mediaTypeOf(output.description) };
  }
  return value;
}
