import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePrometheusText, sumOf, type Family } from '../support/prometheus-text.js';
import { eventually, type TestServer } from '../support/server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { loadTestEnvironment } from '../testenv/connect.js';
import { API_TOKEN, bucketVariables, ClusterFixture, imageProcessesConfig } from './support.js';

/** The image processes of the suites, with the log archive in the server. */
const CONFIG = imageProcessesConfig().replace(
  '  kubernetes: {',
  '  finalizer_controller: true\n  log_archive: {run_in_server: true, lease_duration_seconds: 3, max_retry_seconds: 1, resync_seconds: 1}\n  kubernetes: {',
);

async function scrape(server: TestServer): Promise<Map<string, Family>> {
  const res = await server.client.get('/metrics');
  assert.equal(res.status, 200, res.text);
  return parsePrometheusText(res.text);
}

const count = (metrics: Map<string, Family>, family: string, labels: Record<string, string> = {}, sample = family) => sumOf(metrics, family, sample, labels);

describe('/metrics with image processes: Kubernetes jobs counted once across replicas, watch restarts, the log archive (real API server, kwok, versitygw)', function () {
  this.timeout(120_000);
  const cluster = new ClusterFixture();
  let proxy: TcpProxy;
  let first: TestServer;
  let bucketEnv: NodeJS.ProcessEnv;
  const jobs: Record<string, string> = {};

  before(async () => {
    await cluster.setUp('metrics');
    const kubeconfig = readFileSync(cluster.kubeconfigPath, 'utf8');
    const apiServer = new URL(/server: (\S+)/.exec(kubeconfig)![1]!).origin;
    const target = new URL(apiServer);
    // The first server reaches the API server through a proxy that can cut its connections (watches included).
    proxy = new TcpProxy({ host: target.hostname, port: Number(target.port) });
    await proxy.up();
    const proxied = join(mkdtempSync(join(tmpdir(), 'metrics-')), 'kubeconfig');
    writeFileSync(proxied, kubeconfig.replace(apiServer, `https://127.0.0.1:${proxy.port}`));
    bucketEnv = bucketVariables(loadTestEnvironment().s3, `metrics-${cluster.namespace}/`);
    first = await cluster.server(CONFIG, API_TOKEN, { ...bucketEnv, KUBECONFIG: proxied });
  });
  after(async () => {
    await cluster.tearDown();
    await proxy?.down();
  });

  const submit = async (server: TestServer, processId: string): Promise<string> => {
    const res = await server.client.execute(processId, { inputs: { token: API_TOKEN } }, { Prefer: 'respond-async' });
    assert.equal(res.status, 201, res.text);
    return res.body.jobID as string;
  };
  const statusOf = async (server: TestServer, jobID: string) => (await server.client.get(`/jobs/${jobID}`)).body as { status: string; started?: string };
  const until = (server: TestServer, jobID: string, status: string) => eventually(() => statusOf(server, jobID), (s) => s.status === status, 40_000);

  it('counts the image jobs it accepted by process and outcome, with their durations and queue waits, and all jobs by status', async () => {
    jobs.greeter = await submit(first, 'greeter');
    jobs.failing = await submit(first, 'failing');
    jobs.slow = await submit(first, 'slow');
    await until(first, jobs.slow, 'running');
    assert.equal((await first.client.delete(`/jobs/${jobs.slow}`)).status, 200);
    const ended = await Promise.all([until(first, jobs.greeter, 'successful'), until(first, jobs.failing, 'failed'), until(first, jobs.slow, 'dismissed')]);

    const metrics = await scrape(first);
    for (const process of ['greeter', 'failing', 'slow']) assert.equal(count(metrics, 'ogcapi_jobs_submitted_total', { process }), 1, process);
    assert.equal(count(metrics, 'ogcapi_jobs_finished_total', { process: 'greeter', outcome: 'successful' }), 1);
    assert.equal(count(metrics, 'ogcapi_jobs_finished_total', { process: 'failing', outcome: 'failed' }), 1);
    assert.equal(count(metrics, 'ogcapi_jobs_finished_total', { process: 'slow', outcome: 'dismissed' }), 1);
    assert.equal(count(metrics, 'ogcapi_jobs_finished_total'), 3);
    // One duration and one queue wait for each job that started (its pod ran), as its status shows.
    const started = ended.filter((status) => status.started !== undefined).length;
    assert.ok(started >= 2, 'the greeter and the slow job ran');
    assert.equal(count(metrics, 'ogcapi_job_duration_seconds', {}, 'ogcapi_job_duration_seconds_count'), started);
    assert.equal(count(metrics, 'ogcapi_job_queue_wait_seconds', {}, 'ogcapi_job_queue_wait_seconds_count'), started);
    for (const status of ['successful', 'failed', 'dismissed']) assert.equal(count(metrics, 'ogcapi_jobs', { backend: 'kubernetes', status }), 1, status);
  });

  it('counts no job again in a second replica, which sees them finished; a job finishing under both is counted by the replica that accepted it', async () => {
    const second = await cluster.server(CONFIG, API_TOKEN, bucketEnv);
    let metrics = await scrape(second);
    assert.equal(count(metrics, 'ogcapi_jobs_submitted_total'), 0);
    assert.equal(count(metrics, 'ogcapi_jobs_finished_total'), 0);
    assert.equal(count(metrics, 'ogcapi_job_duration_seconds', {}, 'ogcapi_job_duration_seconds_count'), 0);
    for (const status of ['successful', 'failed', 'dismissed']) assert.equal(count(metrics, 'ogcapi_jobs', { backend: 'kubernetes', status }), 1, `the whole namespace: ${status}`);

    const another = await submit(first, 'greeter');
    await until(second, another, 'successful');
    await until(first, another, 'successful');
    metrics = await scrape(second);
    assert.equal(count(metrics, 'ogcapi_jobs_finished_total'), 0, 'the second replica saw it finish, and did not accept it');
    assert.equal(count(metrics, 'ogcapi_jobs', { backend: 'kubernetes', status: 'successful' }), 2);
    const firstMetrics = await scrape(first);
    assert.equal(count(firstMetrics, 'ogcapi_jobs_finished_total', { process: 'greeter', outcome: 'successful' }), 2);
    assert.equal(count(firstMetrics, 'ogcapi_jobs_finished_total'), 4, 'sum over both replicas: each job once');
    await cluster.stopServer(second);
  });

  it('counts the pod logs archived, and the finalizers pending drop to zero', async () => {
    const controller = first.services.logArchive!;
    await eventually(async () => controller.metrics().archivedPods, (n) => n >= 3, 40_000);
    const metrics = await eventually(() => scrape(first), (m) => count(m, 'ogcapi_log_archive_pending_finalizers') === 0, 40_000);
    assert.equal(count(metrics, 'ogcapi_log_archive_leader'), 1);
    assert.equal(count(metrics, 'ogcapi_log_archive_uploads_total'), controller.metrics().archivedPods);
    assert.ok(count(metrics, 'ogcapi_log_archive_uploads_total') >= 3, 'the pods of the greeters and of the failing job');
    assert.equal(metrics.get('ogcapi_log_archive_uploaded_bytes_total')?.type, 'counter', 'these pods log nothing: 0 bytes');
    assert.equal(count(metrics, 'ogcapi_log_archive_failures_total'), 0);
  });

  it('counts the restarts of its watches when their connections are cut', async () => {
    const before = await scrape(first);
    const restarts = (m: Map<string, Family>, watch: string) => count(m, 'ogcapi_watch_restarts_total', { watch });
    proxy.cut();
    const after = await eventually(
      () => scrape(first),
      (m) => ['jobs', 'pods', 'log-archive-pods'].every((watch) => restarts(m, watch) > restarts(before, watch)),
      30_000,
    );
    for (const watch of ['jobs', 'pods', 'log-archive-pods']) assert.ok(restarts(after, watch) >= 1, watch);
    // The restarted watches work: a new job is followed to its end.
    await until(first, await submit(first, 'greeter'), 'successful');
  });
});
