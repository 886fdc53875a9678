import assert from 'node:assert/strict';
import type { JobRecord } from '../../src/jobs/job.js';
import { ServerMetrics, type LogArchiveCounts } from '../../src/metrics/server-metrics.js';
import { parsePrometheusText, sumOf, type Family } from '../support/prometheus-text.js';

const job = (jobID: string, changes: Partial<JobRecord> = {}): JobRecord => ({ jobID, processID: 'echo', status: 'accepted', created: 10_000, updated: 10_000, response: 'raw', ...changes });

async function read(metrics: ServerMetrics): Promise<Map<string, Family>> {
  return parsePrometheusText(await metrics.exposition());
}

describe('ServerMetrics: what /metrics counts', () => {
  it('follows a job it accepted: submitted, queue wait (created to started), finished by outcome, duration (started to finished)', async () => {
    const metrics = new ServerMetrics();
    metrics.jobSubmitted(job('a'));
    metrics.jobChanged(job('a', { status: 'running', started: 12_500 }));
    metrics.jobChanged(job('a', { status: 'running', started: 12_500, progress: 50 }));
    metrics.jobChanged(job('a', { status: 'failed', started: 12_500, finished: 20_500 }));
    metrics.jobChanged(job('a', { status: 'failed', started: 12_500, finished: 20_500, message: 'again' }));
    const m = await read(metrics);
    assert.equal(sumOf(m, 'ogcapi_jobs_submitted_total', 'ogcapi_jobs_submitted_total', { process: 'echo' }), 1);
    assert.equal(sumOf(m, 'ogcapi_jobs_finished_total', 'ogcapi_jobs_finished_total', { process: 'echo', outcome: 'failed' }), 1, 'a repeated event counts once');
    assert.equal(sumOf(m, 'ogcapi_job_queue_wait_seconds', 'ogcapi_job_queue_wait_seconds_count'), 1);
    assert.equal(sumOf(m, 'ogcapi_job_queue_wait_seconds', 'ogcapi_job_queue_wait_seconds_sum'), 2.5);
    assert.equal(sumOf(m, 'ogcapi_job_duration_seconds', 'ogcapi_job_duration_seconds_sum', { process: 'echo', outcome: 'failed' }), 8);
    assert.equal(sumOf(m, 'ogcapi_job_duration_seconds', 'ogcapi_job_duration_seconds_bucket', { outcome: 'failed', le: '5' }), 0);
    assert.equal(sumOf(m, 'ogcapi_job_duration_seconds', 'ogcapi_job_duration_seconds_bucket', { outcome: 'failed', le: '15' }), 1);
  });

  it('counts nothing for jobs it did not accept: found at start-up, finished on another replica\'s watch', async () => {
    const metrics = new ServerMetrics();
    metrics.jobChanged(job('old', { status: 'successful', started: 11_000, finished: 12_000 }));
    metrics.jobChanged(job('other', { status: 'running', started: 11_000 }));
    metrics.jobChanged(job('other', { status: 'successful', started: 11_000, finished: 12_000 }));
    const m = await read(metrics);
    for (const [family, sample] of [
      ['ogcapi_jobs_finished_total', 'ogcapi_jobs_finished_total'],
      ['ogcapi_job_duration_seconds', 'ogcapi_job_duration_seconds_count'],
      ['ogcapi_job_queue_wait_seconds', 'ogcapi_job_queue_wait_seconds_count'],
    ] as const) {
      assert.equal(sumOf(m, family, sample), 0, sample);
    }
  });

  it('a job dismissed before it started has no duration and no queue wait; a start read before creation waits 0 s', async () => {
    const metrics = new ServerMetrics();
    metrics.jobSubmitted(job('early'));
    metrics.jobChanged(job('early', { status: 'dismissed', finished: 11_000 }));
    // Kubernetes times have whole seconds: the pod's start may read before the Job's creation.
    metrics.jobSubmitted(job('skewed', { processID: 'image', created: 10_400 }));
    metrics.jobChanged(job('skewed', { processID: 'image', created: 10_400, status: 'successful', started: 10_000, finished: 13_000 }));
    const m = await read(metrics);
    assert.equal(sumOf(m, 'ogcapi_jobs_finished_total', 'ogcapi_jobs_finished_total', { process: 'echo', outcome: 'dismissed' }), 1);
    assert.equal(sumOf(m, 'ogcapi_job_duration_seconds', 'ogcapi_job_duration_seconds_count', { process: 'echo' }), 0);
    assert.equal(sumOf(m, 'ogcapi_job_queue_wait_seconds', 'ogcapi_job_queue_wait_seconds_count', { process: 'echo' }), 0);
    assert.equal(sumOf(m, 'ogcapi_job_queue_wait_seconds', 'ogcapi_job_queue_wait_seconds_sum', { process: 'image' }), 0);
    assert.equal(sumOf(m, 'ogcapi_job_queue_wait_seconds', 'ogcapi_job_queue_wait_seconds_count', { process: 'image' }), 1, 'a job first seen finished still had a start');
  });

  it('reads the counts other components keep at each scrape: jobs by status, watch restarts, the log archive', async () => {
    let restarts = { jobs: 0, pods: 2 };
    const archive: LogArchiveCounts = { leader: true, archivedPods: 3, archivedBytes: 1024, failedAttempts: 1, pendingFinalizers: 4 };
    const metrics = new ServerMetrics({
      jobCounts: async () => [{ backend: 'kubernetes', status: 'running', count: 7 }, { backend: 'local', status: 'failed', count: 2 }],
      watchRestarts: [() => restarts, () => ({ 'log-archive-pods': 1 })],
      logArchive: () => archive,
    });
    let m = await read(metrics);
    assert.equal(m.get('ogcapi_jobs')?.type, 'gauge');
    assert.equal(sumOf(m, 'ogcapi_jobs', 'ogcapi_jobs', { backend: 'kubernetes', status: 'running' }), 7);
    assert.equal(sumOf(m, 'ogcapi_jobs', 'ogcapi_jobs', { backend: 'local', status: 'failed' }), 2);
    assert.equal(m.get('ogcapi_watch_restarts_total')?.type, 'counter');
    assert.equal(sumOf(m, 'ogcapi_watch_restarts_total', 'ogcapi_watch_restarts_total', { watch: 'pods' }), 2);
    assert.equal(sumOf(m, 'ogcapi_watch_restarts_total', 'ogcapi_watch_restarts_total', { watch: 'log-archive-pods' }), 1);
    assert.equal(sumOf(m, 'ogcapi_log_archive_uploads_total', 'ogcapi_log_archive_uploads_total'), 3);
    assert.equal(sumOf(m, 'ogcapi_log_archive_uploaded_bytes_total', 'ogcapi_log_archive_uploaded_bytes_total'), 1024);
    assert.equal(sumOf(m, 'ogcapi_log_archive_failures_total', 'ogcapi_log_archive_failures_total'), 1);
    assert.equal(sumOf(m, 'ogcapi_log_archive_pending_finalizers', 'ogcapi_log_archive_pending_finalizers'), 4);
    assert.equal(sumOf(m, 'ogcapi_log_archive_leader', 'ogcapi_log_archive_leader'), 1);

    restarts = { jobs: 1, pods: 2 };
    Object.assign(archive, { archivedPods: 5, leader: false });
    m = await read(metrics);
    assert.equal(sumOf(m, 'ogcapi_watch_restarts_total', 'ogcapi_watch_restarts_total', { watch: 'jobs' }), 1);
    assert.equal(sumOf(m, 'ogcapi_watch_restarts_total', 'ogcapi_watch_restarts_total', { watch: 'pods' }), 2, 'a value, not added up at each scrape');
    assert.equal(sumOf(m, 'ogcapi_log_archive_uploads_total', 'ogcapi_log_archive_uploads_total'), 5);
    assert.equal(sumOf(m, 'ogcapi_log_archive_leader', 'ogcapi_log_archive_leader'), 0);
  });

  it('reads the queue intake\'s counts by outcome', async () => {
    const counts = { taken: 5, deadLettered: 2, requeued: 1 };
    const m = await read(new ServerMetrics({ intake: () => counts }));
    assert.equal(m.get('ogcapi_intake_messages_total')?.type, 'counter');
    assert.equal(sumOf(m, 'ogcapi_intake_messages_total', 'ogcapi_intake_messages_total', { outcome: 'taken' }), 5);
    assert.equal(sumOf(m, 'ogcapi_intake_messages_total', 'ogcapi_intake_messages_total', { outcome: 'dead_lettered' }), 2);
    assert.equal(sumOf(m, 'ogcapi_intake_messages_total', 'ogcapi_intake_messages_total', { outcome: 'requeued' }), 1);
  });

  it('leaves out what is not there: no log archive, no watches, no intake', async () => {
    const m = await read(new ServerMetrics());
    assert.ok(!m.has('ogcapi_intake_messages_total'));
    assert.ok(!m.has('ogcapi_log_archive_uploads_total'));
    assert.ok(!m.has('ogcapi_watch_restarts_total'));
    assert.ok(!m.has('ogcapi_jobs'));
    assert.ok(m.has('process_cpu_seconds_total'), 'the default process metrics');
  });

  it('times requests by route, method and status class; counts callback attempts by outcome', async () => {
    const metrics = new ServerMetrics();
    metrics.requestServed('/jobs/:jobId', 'GET', 200, 0.002);
    metrics.requestServed('/jobs/:jobId', 'GET', 204, 0.004);
    metrics.requestServed('/jobs/:jobId', 'GET', 404, 0.001);
    metrics.requestServed('unmatched', 'GET', 404, 0.001);
    metrics.callbackAttempted('success', 'sent');
    metrics.callbackAttempted('failed', 'waiting');
    metrics.callbackAttempted('failed', 'failed');
    const m = await read(metrics);
    const requests = (labels: Record<string, string>) => sumOf(m, 'ogcapi_http_request_duration_seconds', 'ogcapi_http_request_duration_seconds_count', labels);
    assert.equal(requests({ route: '/jobs/:jobId', method: 'GET', code: '2xx' }), 2);
    assert.equal(requests({ route: '/jobs/:jobId', method: 'GET', code: '4xx' }), 1);
    assert.equal(requests({ route: 'unmatched', code: '4xx' }), 1);
    assert.equal(sumOf(m, 'ogcapi_http_request_duration_seconds', 'ogcapi_http_request_duration_seconds_bucket', { code: '2xx', le: '0.005' }), 2);
    const deliveries = (notification: string, outcome: string) => sumOf(m, 'ogcapi_callback_deliveries_total', 'ogcapi_callback_deliveries_total', { notification, outcome });
    assert.deepEqual([deliveries('success', 'delivered'), deliveries('failed', 'retrying'), deliveries('failed', 'given_up')], [1, 1, 1]);
  });

  it('keeps each instance apart: two in one process do not share their counts', async () => {
    const first = new ServerMetrics();
    const second = new ServerMetrics();
    first.jobSubmitted(job('x'));
    assert.equal(sumOf(await read(first), 'ogcapi_jobs_submitted_total', 'ogcapi_jobs_submitted_total'), 1);
    assert.equal(sumOf(await read(second), 'ogcapi_jobs_submitted_total', 'ogcapi_jobs_submitted_total'), 0);
  });
});
