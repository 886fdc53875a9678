import type { Request, RequestHandler, Response } from 'express';
import { Router } from 'express';
import { InvalidParameter, LogsNotAvailable, ProblemError } from '../errors.js';
import { onlyMethods } from '../http/methods.js';
import type { ProblemPage } from '../http/problem.js';
import { jobListQuerySchema, jobLogsQuerySchema, noQuerySchema, processListQuerySchema, queryParser, type JobListQuery, type JobLogsQuery, type ProcessListQuery } from '../http/query.js';
import { encodeCursor } from '../http/representations.js';
import { listJobs } from '../http/routes/jobs.js';
import { CONFORMANCE_CLASSES } from '../http/routes/landing.js';
import { listProcesses } from '../http/routes/processes.js';
import { isFinished, JOB_STATUSES, type Cursor } from '../jobs/job.js';
import { mediaTypeOf, TOKEN_INPUT } from '../jobs/manager.js';
import type { Process } from '../processes/process.js';
import type { Services } from '../services.js';
import { STYLESHEET, SCRIPT } from './assets.js';
import { executeRequestOf, formFields, readForm } from './form.js';
import { jobEventsQuerySchema } from './live-jobs.js';
import { isPageOnly, markPageOnly, sameOriginOnly, wantsHtml } from './negotiation.js';
import { jobView } from './view-models.js';
import { setPageHeaders, Views } from './views.js';

const ASSETS = '/pages';
/** The tail of a log a page shows; the text version has it all. */
export const LOG_PAGE_BYTES = 256 * 1024;

/**
 * The HTML pages (OGC `html` conformance class): the same resources as the JSON API, chosen with
 * `f=html` or `Accept: text/html`, plus the run form, dismissal from a job's page and the live event
 * stream. Any request that does not ask for a page goes on to the JSON routes.
 */
export function pageRoutes(services: Services): { router: Router; problemPage: ProblemPage } {
  const { registry, jobs, representations, queryAjv, config, clock, liveJobs } = services;
  const router = Router();
  const url = representations.url.bind(representations);
  const html = (path: string, query: Record<string, string | number | undefined> = {}) => url(path, { ...query, f: 'html' });
  const views = new Views({
    title: config.server.title,
    home: html('/'),
    processes: html('/processes'),
    jobs: html('/jobs'),
    conformance: html('/conformance'),
    apiDoc: url('/api.html'),
    stylesheet: url(`${ASSETS}/style.css`),
    script: url(`${ASSETS}/script.js`),
  });
  const parseNone = queryParser(queryAjv, noQuerySchema);
  const parseProcesses = queryParser<ProcessListQuery>(queryAjv, processListQuerySchema);
  const parseJobs = queryParser<JobListQuery>(queryAjv, jobListQuerySchema);
  const parseLogs = queryParser<JobLogsQuery>(queryAjv, jobLogsQuerySchema);
  const parseEvents = queryParser<{ jobID?: string; log?: boolean }>(queryAjv, jobEventsQuerySchema);

  /** A page for a request that asks for one; anything else goes on to the JSON route of the same path. */
  const page = (handler: (req: Request, res: Response) => Promise<void> | void): RequestHandler => (req, res, next) => {
    res.vary('Accept');
    if (!wantsHtml(req)) {
      next();
      return;
    }
    return handler(req, res);
  };
  const pageOnly: RequestHandler = (_req, res, next) => {
    markPageOnly(res);
    next();
  };
  const sameOrigin = sameOriginOnly(representations.url('/'));

  // OPTIONS goes on to the JSON routes, whose answer names every method of the path (not only GET).
  router.use((req, _res, next) => next(req.method === 'OPTIONS' ? 'router' : undefined));

  router.get(`${ASSETS}/style.css`, (_req, res) => {
    res.set('Cache-Control', 'public, max-age=3600').type('css').send(STYLESHEET);
  });
  router.get(`${ASSETS}/script.js`, (_req, res) => {
    res.set('Cache-Control', 'public, max-age=3600').type('js').send(SCRIPT);
  });

  router.get('/', page((req, res) => {
    parseNone(req.query);
    views.send(res, 200, 'landing', { title: config.server.title, description: config.server.description, json: url('/', { f: 'json' }) });
  }));

  router.get('/conformance', page((req, res) => {
    parseNone(req.query);
    views.send(res, 200, 'conformance', { title: 'Conformance', classes: CONFORMANCE_CLASSES, json: url('/conformance', { f: 'json' }) });
  }));

  router.get('/processes', page((req, res) => {
    const { processes, cursors } = listProcesses(registry, parseProcesses(req.query));
    views.send(res, 200, 'processes', {
      title: 'Processes',
      processes: processes.map((process) => ({
        ...process.description,
        page: html(`/processes/${encodeURIComponent(process.description.id)}`),
        jobs: html('/jobs', { processID: process.description.id }),
        modes: process.description.jobControlOptions.join(', '),
      })),
      ...(cursors.next ? { next: html('/processes', cursors.next) } : {}),
      ...(cursors.prev ? { prev: html('/processes', cursors.prev) } : {}),
      json: url('/processes', { ...cursors.self, f: 'json' }),
    });
  }));

  const sendProcess = (res: Response, process: Process, status: number, given: { texts?: Record<string, string>; mode?: string; problem?: ProblemError } = {}) => {
    const { description } = process;
    const path = `/processes/${encodeURIComponent(description.id)}`;
    const modes = [
      ...(description.jobControlOptions.includes('sync-execute') ? [{ value: 'sync', label: 'Wait for the results (synchronous)' }] : []),
      ...(description.jobControlOptions.includes('async-execute') ? [{ value: 'async', label: 'Run in the background and follow the job (asynchronous)' }] : []),
    ];
    const chosen = modes.some((mode) => mode.value === given.mode) ? given.mode : modes[0]?.value;
    const fields = formFields(process, given.texts);
    views.send(res, status, 'process', {
      title: description.title,
      process: {
        ...description,
        keywords: description.keywords ?? [],
        jobs: html('/jobs', { processID: description.id }),
        outputs: Object.entries(description.outputs).map(([id, output]) => ({ id, title: output.title ?? id, description: output.description ?? '', mediaType: mediaTypeOf(output) })),
      },
      form: {
        action: url(`${path}/form`),
        enctype: fields.some((field) => field.kind === 'file') ? 'multipart/form-data' : 'application/x-www-form-urlencoded',
        fields,
        modes: modes.map((mode) => ({ ...mode, checked: mode.value === chosen })),
      },
      ...(given.problem ? { problem: { title: given.problem.title, detail: given.problem.message } } : {}),
      json: url(path, { f: 'json' }),
    });
  };

  router.get('/processes/:processId', page((req, res) => {
    parseNone(req.query);
    sendProcess(res, registry.get(pathParameter(req, 'processId')), 200);
  }));

  // The run form: the same execute request as the API's, through the JobManager, so the same checks
  // and messages. A refusal shows the form again with what was typed (never the token).
  router.route('/processes/:processId/form').post(pageOnly, sameOrigin, async (req, res) => {
    parseNone(req.query);
    const process = registry.get(pathParameter(req, 'processId'));
    const form = await readForm(req, process, config.server.maxBodyBytes);
    try {
      const execution = await jobs.execute(process.description.id, executeRequestOf(process, form), { respondAsync: form.respondAsync });
      const job = `/jobs/${encodeURIComponent(execution.job.jobID)}`;
      // 303: the browser follows with a GET, and reloading the page does not run the process again.
      res.redirect(303, execution.mode === 'sync' && execution.job.status === 'successful' ? html(`${job}/results`) : html(job));
    } catch (error) {
      if (!(error instanceof ProblemError) || error.status >= 500) throw error;
      const { [TOKEN_INPUT]: _token, ...texts } = form.texts; // never shown again
      sendProcess(res, process, error.status, { texts, mode: form.respondAsync ? 'async' : 'sync', problem: error });
    }
  }).all(pageOnly, onlyMethods('POST'));

  router.get('/jobs', page(async (req, res) => {
    const query = parseJobs(req.query);
    const { page: list, linkQuery } = await listJobs(jobs, query);
    const now = clock.now();
    const cursorLink = (cursor: Cursor | undefined) => cursor && html('/jobs', { ...linkQuery, cursor: encodeCursor(cursor) });
    const { limit } = linkQuery;
    const filter = (label: string, name: 'processID' | 'status', values: readonly string[]) => {
      const current = linkQuery[name];
      const others = Object.fromEntries(Object.entries(linkQuery).filter(([key]) => key !== name));
      return {
        label,
        options: [
          { label: 'any', href: html('/jobs', others), current: current === undefined },
          ...values.map((value) => ({ label: value, href: html('/jobs', { ...others, [name]: value }), current: current === value })),
        ],
      };
    };
    views.send(res, 200, 'jobs', {
      title: 'Jobs',
      jobs: list.jobs.map((job) => jobView(job, representations, now)),
      matched: list.numberMatched,
      filtered: Object.keys(linkQuery).some((key) => key !== 'limit'),
      filters: [filter('Process', 'processID', registry.list().map((process) => process.description.id)), filter('Status', 'status', JOB_STATUSES)],
      ...(list.next ? { next: cursorLink(list.next) } : {}),
      ...(list.prev ? { prev: cursorLink(list.prev) } : {}),
      json: url('/jobs', { ...linkQuery, limit, ...(query.cursor ? { cursor: query.cursor } : {}), f: 'json' }),
      live: url('/job-events'),
    });
  }));

  router.get('/jobs/:jobId', page(async (req, res) => {
    parseNone(req.query);
    const job = await jobs.getJob(pathParameter(req, 'jobId'));
    views.send(res, 200, 'job', {
      title: `Job ${job.jobID.slice(0, 8)}`,
      job: jobView(job, representations, clock.now()),
      json: url(`/jobs/${encodeURIComponent(job.jobID)}`, { f: 'json' }),
      // A running job's log comes over the same stream: one connection per page, one follow per job.
      live: url('/job-events', { jobID: job.jobID, ...(job.logs && !isFinished(job.status) ? { log: 'true' } : {}) }),
    });
  }));

  router.route('/jobs/:jobId/dismissal').post(pageOnly, sameOrigin, async (req, res) => {
    parseNone(req.query);
    const dismissed = await jobs.dismiss(pathParameter(req, 'jobId'));
    // A finished job is removed by dismissal; one that ran stays, reading dismissed.
    const stays = await jobs.getJob(dismissed.jobID).then(() => true, () => false);
    res.redirect(303, stays ? html(`/jobs/${encodeURIComponent(dismissed.jobID)}`) : html('/jobs'));
  }).all(pageOnly, onlyMethods('POST'));

  router.get('/jobs/:jobId/results', page(async (req, res) => {
    parseNone(req.query);
    const { job, outputs } = await jobs.results(pathParameter(req, 'jobId'), { filesByReference: true });
    const path = `/jobs/${encodeURIComponent(job.jobID)}`;
    views.send(res, 200, 'results', {
      title: `Results of job ${job.jobID.slice(0, 8)}`,
      job: html(path),
      outputs: outputs.map((output) => ({
        id: output.id,
        title: output.description.title ?? output.id,
        mediaType: output.file?.mediaType ?? mediaTypeOf(output.description),
        ...(output.file ? { href: output.file.href, size: output.file.size } : { text: typeof output.value === 'string' ? output.value : JSON.stringify(output.value, null, 2) }),
      })),
      json: url(`${path}/results`, { f: 'json' }),
    });
  }));

  router.get('/jobs/:jobId/logs', page(async (req, res) => {
    const { container } = parseLogs(req.query);
    const job = await jobs.getJob(pathParameter(req, 'jobId'));
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    // The page shows the log as it is now; its script follows it while the job runs (follow is for the text).
    const log = await jobs.logs(job.jobID, { ...(container ? { container } : {}), follow: false, signal: gone.signal });
    const { text, truncated } = await tail(log, LOG_PAGE_BYTES);
    views.send(res, 200, 'logs', {
      title: `Log of job ${job.jobID.slice(0, 8)}${container ? ` (${container})` : ''}`,
      job: jobView(job, representations, clock.now()),
      text,
      truncated,
    });
  }));

  // The live event stream: JSON statusInfo documents, one event for each change of a job.
  router.route('/job-events').get(async (req, res) => {
    const { jobID, log } = parseEvents(req.query);
    if (log && jobID === undefined) throw new InvalidParameter("Query parameter 'log' follows one job's log: give its 'jobID' too.");
    const job = jobID === undefined ? undefined : await jobs.getJob(jobID); // no such job: 404
    if (log && !job?.logs) throw new LogsNotAvailable(`Job ${jobID} ran inside the server (a local process), so it has no container logs.`);
    liveJobs.open(res, jobID, log);
  }).all(onlyMethods('GET'));

  const problemPage: ProblemPage = (problem, req, res) => {
    if (!isPageOnly(res) && !wantsHtml(req)) return undefined;
    setPageHeaders(res);
    return views.render('error', { title: problem.title, status: problem.status, detail: problem.message });
  };
  return { router, problemPage };
}

/** A path parameter: one segment, already decoded by the router. */
function pathParameter(req: Request, name: string): string {
  return String(req.params[name]);
}

/** The last `maxBytes` of a stream, read through (never held whole). */
async function tail(stream: AsyncIterable<Buffer | string>, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let held = 0;
  let truncated = false;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    chunks.push(bytes);
    held += bytes.length;
    while (held - chunks[0]!.length >= maxBytes) {
      held -= chunks.shift()!.length;
      truncated = true;
    }
  }
  const all = Buffer.concat(chunks);
  if (all.length > maxBytes) truncated = true;
  return { text: all.subarray(Math.max(0, all.length - maxBytes)).toString('utf8'), truncated };
}
