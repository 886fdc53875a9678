import { Router } from 'express';
import { InvalidParameter } from '../../errors.js';
import type { Process } from '../../processes/process.js';
import type { ProcessRegistry } from '../../processes/registry.js';
import type { Services } from '../../services.js';
import { jsonBody } from '../json-body.js';
import { onlyMethods } from '../methods.js';
import { executionPreferences } from '../prefer.js';
import { noQuerySchema, processListQuerySchema, queryParser, type ProcessListQuery } from '../query.js';
import { sendResults } from '../results.js';

export function processRoutes({ registry, jobs, representations, queryAjv, config }: Services): Router {
  const router = Router();
  const parseList = queryParser<ProcessListQuery>(queryAjv, processListQuerySchema);
  const parseNone = queryParser(queryAjv, noQuerySchema);
  const executeBody = jsonBody({ maxBytes: config.server.maxBodyBytes, maxDepth: config.server.maxBodyDepth });

  router.route('/processes').get((req, res) => {
    const { processes, cursors } = listProcesses(registry, parseList(req.query));
    const links = Object.entries(cursors).map(([rel, query]) => ({ href: representations.url('/processes', query), rel, type: 'application/json' }));
    res.json({ processes: processes.map((process) => representations.processSummary(process)), links });
  }).all(onlyMethods('GET'));

  router.route('/processes/:processId').get((req, res) => {
    parseNone(req.query);
    res.json(representations.processDescription(registry.get(req.params.processId)));
  }).all(onlyMethods('GET'));

  router.route('/processes/:processId/execution').post(...executeBody, async (req, res) => {
    parseNone(req.query);
    const execution = await jobs.execute(req.params.processId, req.body, executionPreferences(req.headers.prefer));
    if (execution.preferenceApplied.length > 0) res.set('Preference-Applied', execution.preferenceApplied.join(', '));
    const location = representations.url(`/jobs/${encodeURIComponent(execution.job.jobID)}`);
    if (execution.mode === 'async') {
      res.status(201).location(location).json(representations.statusInfo(execution.job));
      return;
    }
    res.set('Link', `<${location}>; rel="monitor"`);
    await sendResults(res, await jobs.results(execution.job.jobID));
  }).all(onlyMethods('POST'));

  return router;
}

/** One page of the processes, and the query of each paging link (self, next, prev) that applies. */
export function listProcesses(registry: ProcessRegistry, query: ProcessListQuery): { processes: Process[]; cursors: Record<string, Record<string, string | number | undefined>> } {
  const limit = query.limit!;
  const offset = query.cursor === undefined ? 0 : decodeOffset(query.cursor);
  const all = registry.list();
  const cursors: Record<string, Record<string, string | number | undefined>> = { self: { limit, ...(offset ? { cursor: query.cursor } : {}) } };
  if (offset + limit < all.length) cursors.next = { limit, cursor: encodeOffset(offset + limit) };
  if (offset > 0) cursors.prev = { limit, cursor: encodeOffset(Math.max(0, offset - limit)) };
  return { processes: all.slice(offset, offset + limit), cursors };
}

function encodeOffset(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

function decodeOffset(cursor: string): number {
  const match = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new InvalidParameter(`Query parameter 'cursor' is not a cursor this server issued: '${cursor}'.`);
  return Number(match[1]);
}
