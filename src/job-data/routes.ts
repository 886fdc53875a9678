import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import { onlyMethods } from '../http/methods.js';
import { queryParser } from '../http/query.js';
import type { Services } from '../services.js';

/** The query of a link to an output file: when it expires (Unix seconds) and its signature. */
export const outputLinkQuerySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['expires', 'signature'],
  properties: {
    expires: { type: 'integer', minimum: 0, description: 'When the link expires, in seconds since 1970.' },
    signature: { type: 'string', minLength: 1, maxLength: 128, description: 'The server\'s signature of the job, the output and the expiry time.' },
  },
} as const;

/** The file behind a link that GET /jobs/{jobId}/results gave for an output asked by reference. */
export function jobFileRoutes({ jobs, queryAjv }: Services): Router {
  const router = Router();
  const parseLink = queryParser<{ expires: number; signature: string }>(queryAjv, outputLinkQuerySchema);

  router.route('/jobs/:jobId/outputs/:outputId').get(async (req, res) => {
    const { expires, signature } = parseLink(req.query);
    const { file, stream } = await jobs.outputFile(req.params.jobId, req.params.outputId, expires, signature);
    res.status(200).type(file.mediaType).set({ 'Content-Length': String(file.size), 'Cache-Control': 'private, no-store' });
    // Once bytes are sent, a failure can only cut the response short; the client sees it end early.
    await pipeline(stream, res).catch(() => res.destroy());
  }).all(onlyMethods('GET'));

  return router;
}
