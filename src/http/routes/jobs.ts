import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import { InvalidParameter } from '../../errors.js';
import type { JobFilter, JobStatus } from '../../jobs/job.js';
import type { JobListPage, JobManager } from '../../jobs/manager.js';
import type { Services } from '../../services.js';
import { onlyMethods } from '../methods.js';
import { markStreaming } from '../streaming.js';
import { jobListQuerySchema, jobLogsQuerySchema, noQuerySchema, parseDatetime, queryParser, type JobListQuery, type JobLogsQuery } from '../query.js';
import { decodeCursor } from '../representations.js';
import { sendResults } from '../results.js';

export function jobRoutes({ jobs, representations, queryAjv }: Services): Router {
  const router = Router();
  const parseList = queryParser<JobListQuery>(queryAjv, jobListQuerySchema);
  const parseNone = queryParser(queryAjv, noQuerySchema);
  const parseLogs = queryParser<JobLogsQuery>(queryAjv, jobLogsQuerySchema);

  router.route('/jobs').get(async (req, res) => {
    const { page, linkQuery } = await listJobs(jobs, parseList(req.query));
    res.type('json').send(representations.jobListJson(page, linkQuery));
  }).all(onlyMethods('GET'));

  router.route('/jobs/:jobId')
    .get(async (req, res) => {
      parseNone(req.query);
      res.type('json').send(representations.statusInfoJson(await jobs.getJob(req.params.jobId)));
    })
    .delete(async (req, res) => {
      parseNone(req.query);
      res.json(representations.statusInfo(await jobs.dismiss(req.params.jobId)));
    })
    .all(onlyMethods('GET', 'DELETE'));

  router.route('/jobs/:jobId/results').get(async (req, res) => {
    parseNone(req.query);
    await sendResults(res, await jobs.results(req.params.jobId));
  }).all(onlyMethods('GET'));

  router.route('/jobs/:jobId/logs').get(async (req, res) => {
    const { container, follow } = parseLogs(req.query);
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const log = await jobs.logs(req.params.jobId, { ...(container ? { container } : {}), follow: follow ?? false, signal: gone.signal });
    res.status(200).type('text/plain; charset=utf-8');
    if (follow) {
      markStreaming(res);
      res.flushHeaders();
    }
    // Once bytes are sent, a failure can only cut the response short; the client sees it end early.
    await pipeline(log, res).catch(() => res.destroy());
  }).all(onlyMethods('GET'));

  return router;
}

/** One page of the job list as the query asks, and the query its paging links carry on (JSON and page alike). */
export async function listJobs(jobs: JobManager, query: JobListQuery): Promise<{ page: JobListPage; linkQuery: Record<string, string | number> }> {
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  if (query.cursor !== undefined && !cursor) {
    throw new InvalidParameter(`Query parameter 'cursor' is not a cursor this server issued: '${query.cursor}'.`);
  }
  const page = await jobs.listJobs(toFilter(query), query.limit!, cursor);
  // The filters travel on in the paging links, in their comma-separated form.
  const { cursor: _cursor, f: _f, ...kept } = query;
  const linkQuery = Object.fromEntries(Object.entries(kept).map(([key, value]) => [key, Array.isArray(value) ? value.join(',') : value]));
  return { page, linkQuery: linkQuery as Record<string, string | number> };
}

function toFilter(query: JobListQuery): JobFilter {
  const filter: JobFilter = {};
  if (query.processID) filter.processIDs = query.processID;
  if (query.status) filter.statuses = query.status as JobStatus[];
  if (query.datetime !== undefined) {
    const { from, to } = parseDatetime(query.datetime);
    if (from !== undefined) filter.createdFrom = from;
    if (to !== undefined) filter.createdTo = to;
  }
  if (query.minDuration !== undefined) filter.minDuration = query.minDuration;
  if (query.maxDuration !== undefined) filter.maxDuration = query.maxDuration;
  if (filter.minDuration !== undefined && filter.maxDuration !== undefined && filter.minDuration > filter.maxDuration) {
    throw new InvalidParameter(`Query parameter 'minDuration' (${filter.minDuration}) is greater than 'maxDuration' (${filter.maxDuration}).`);
  }
  return filter;
}
