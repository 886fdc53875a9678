import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePrometheusText, sumOf, type Family } from '../support/prometheus-text.js';
import { CallbackReceiver } from '../support/receiver.js';
import { eventually, startTestServer, type TestServer } from '../support/server.js';

const TOKEN = 'metrics-test-secret-4d1f';
const config = (store: string) => `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}
manager:
  local_store: {path: ${store}}
  sync_wait_seconds: 5
  notifications: {allowed_hosts: [127.0.0.1], allow_private_networks: true, sweep_seconds: 0.2}
resources:
  echo: {type: process, processor: {name: Echo}}
  hello-world: {type: process, processor: {name: HelloWorld}}
`;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

async function scrape(server: TestServer): Promise<Map<string, Family>> {
  const res = await server.client.get('/metrics');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(res.text);
}

describe('/metrics: Prometheus text format, counting the jobs this server ran', () => {
  let server: TestServer;
  let receiver: CallbackReceiver;
  const dir = mkdtempSync(join(tmpdir(), 'ogcapi-metrics-'));

  before(async () => {
    receiver = await new CallbackReceiver().start();
    server = await startTestServer({ configYaml: config('jobs.sqlite'), dir, env: { K8S_MANAGER_API_TOKEN: TOKEN } });
  });
  after(async () => {
    await server?.stop();
    await receiver?.stop();
  });

  const execute = async (processId: string, body: object, headers: Record<string, string> = {}) => {
    const res = await server.client.execute(processId, body, headers);
    assert.ok(res.status === 200 || res.status === 201, res.text);
    return res;
  };
  const statusOf = async (jobID: string) => (await server.client.get(`/jobs/${jobID}`)).body.status as string;
  const async = { Prefer: 'respond-async' };

  it('counts each job submitted and finished by process and outcome, with one duration and queue wait each', async () => {
    await execute('echo', { inputs: { string_input: 'sync' } });
    await execute('hello-world', { inputs: { name: 'metrics' } });
    const later = (await execute('echo', { inputs: { string_input: 'async', pause: 1 } }, async)).body.jobID as string;
    const called = (await execute('echo', { inputs: { string_input: 'called' }, subscriber: { successUri: `${receiver.url}/done` } }, async)).body.jobID as string;
    const stopped = (await execute('echo', { inputs: { pause: 60 } }, async)).body.jobID as string;
    await eventually(() => statusOf(stopped), (s) => s === 'running');
    assert.equal((await server.client.delete(`/jobs/${stopped}`)).status, 200);
    await eventually(() => Promise.all([later, called].map(statusOf)), (all) => all.every((s) => s === 'successful'));
    await receiver.waitFor('/done');

    const metrics = await eventually(() => scrape(server), (m) => sumOf(m, 'ogcapi_callback_deliveries_total', 'ogcapi_callback_deliveries_total') > 0);
    const count = (family: string, sample: string, labels: Record<string, string>) => sumOf(metrics, family, sample, labels);
    assert.equal(metrics.get('ogcapi_jobs_submitted_total')?.type, 'counter');
    assert.equal(count('ogcapi_jobs_submitted_total', 'ogcapi_jobs_submitted_total', { process: 'echo' }), 4);
    assert.equal(count('ogcapi_jobs_submitted_total', 'ogcapi_jobs_submitted_total', { process: 'hello-world' }), 1);
    const finished = (process: string, outcome: string) => count('ogcapi_jobs_finished_total', 'ogcapi_jobs_finished_total', { process, outcome });
    assert.equal(finished('echo', 'successful'), 3);
    assert.equal(finished('echo', 'dismissed'), 1);
    assert.equal(finished('hello-world', 'successful'), 1);
    assert.equal(finished('echo', 'failed') + finished('hello-world', 'failed'), 0);

    // Every job here started before it ended: one duration for each finished job, one queue wait for each job.
    assert.equal(metrics.get('ogcapi_job_duration_seconds')?.type, 'histogram');
    const durations = (process: string, outcome: string) => count('ogcapi_job_duration_seconds', 'ogcapi_job_duration_seconds_count', { process, outcome });
    assert.equal(durations('echo', 'successful'), 3);
    assert.equal(durations('echo', 'dismissed'), 1);
    assert.equal(durations('hello-world', 'successful'), 1);
    assert.ok(count('ogcapi_job_duration_seconds', 'ogcapi_job_duration_seconds_sum', { process: 'echo', outcome: 'successful' }) >= 1, 'the pause is in the durations');
    assert.equal(count('ogcapi_job_queue_wait_seconds', 'ogcapi_job_queue_wait_seconds_count', { process: 'echo' }), 4);
    assert.equal(count('ogcapi_job_queue_wait_seconds', 'ogcapi_job_queue_wait_seconds_count', { process: 'hello-world' }), 1);

    assert.equal(count('ogcapi_jobs', 'ogcapi_jobs', { backend: 'local', status: 'successful' }), 4);
    assert.equal(count('ogcapi_jobs', 'ogcapi_jobs', { backend: 'local', status: 'dismissed' }), 1);
    assert.equal(count('ogcapi_callback_deliveries_total', 'ogcapi_callback_deliveries_total', { notification: 'success', outcome: 'delivered' }), 1);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      assert.ok(metrics.has(name), `the default process metric ${name}`);
    }
  });

  it('times requests by route template, method and status class: never a path with an id, unknown paths as one route', async () => {
    const before = await scrape(server);
    const requests = (m: Map<string, Family>, labels: Record<string, string>) => sumOf(m, 'ogcapi_http_request_duration_seconds', 'ogcapi_http_request_duration_seconds_count', labels);
    const jobID = (await execute('echo', { inputs: { string_input: 'timed' } }, async)).body.jobID as string;
    await server.client.get(`/jobs/${jobID}`);
    await server.client.get('/jobs/00000000-0000-0000-0000-000000000000');
    await server.client.get(`/no/such/${jobID}`);
    const after = await eventually(() => scrape(server), (m) => requests(m, { route: 'unmatched' }) > requests(before, { route: 'unmatched' }));
    const added = (labels: Record<string, string>) => requests(after, labels) - requests(before, labels);
    assert.equal(added({ route: '/jobs/:jobId', method: 'GET', code: '2xx' }), 1);
    assert.equal(added({ route: '/jobs/:jobId', method: 'GET', code: '4xx' }), 1);
    assert.equal(added({ route: '/processes/:processId/execution', method: 'POST', code: '2xx' }), 1);
    assert.equal(added({ route: 'unmatched', method: 'GET', code: '4xx' }), 1);
    assert.ok(requests(after, { route: '/metrics', method: 'GET', code: '2xx' }) >= 1, 'scrapes are timed too');
    const labelValues = [...after.values()].flatMap((family) => family.samples.flatMap((sample) => Object.values(sample.labels)));
    assert.ok(!labelValues.some((value) => UUID.test(value)), 'no label holds a job id');
  });

  it('leaves streams out of request timing: an event stream lasts as long as its viewer', async () => {
    const stream = await fetch(`${server.url}/job-events`, { headers: { Accept: 'text/event-stream' } });
    assert.equal(stream.status, 200);
    await eventually(async () => server.services.liveJobs.viewerCount, (count) => count === 1);
    await stream.body!.cancel();
    await eventually(async () => server.services.liveJobs.viewerCount, (count) => count === 0);
    await new Promise((resolve) => setImmediate(resolve)); // the response's own close listeners run in the same turn
    await server.client.get('/processes');
    const m = await eventually(() => scrape(server), (scraped) => sumOf(scraped, 'ogcapi_http_request_duration_seconds', 'ogcapi_http_request_duration_seconds_count', { route: '/processes' }) >= 1);
    assert.equal(sumOf(m, 'ogcapi_http_request_duration_seconds', 'ogcapi_http_request_duration_seconds_count', { route: '/job-events' }), 0);
  });

  it('holds no secret: the API token is nowhere in it', async () => {
    const res = await server.client.get('/metrics');
    assert.ok(!res.text.includes(TOKEN));
  });

  it('refuses an unknown query parameter (400) and other methods (405) with problem details', async () => {
    const unknown = await server.client.get('/metrics?name=ogcapi_jobs');
    assert.equal(unknown.status, 400);
    assert.match(unknown.headers['content-type']!, /^application\/problem\+json/);
    assert.match(unknown.body.detail, /Unknown query parameter 'name'; this endpoint takes none/);
    const posted = await server.client.post('/metrics', {});
    assert.equal(posted.status, 405);
    assert.equal(posted.headers.allow, 'GET');
  });

  it('after a restart counts no job again: the finished jobs it finds are in the jobs gauge only', async () => {
    await eventually(async () => (await server.client.get('/jobs?status=accepted,running')).body.numberMatched, (n) => n === 0);
    const jobs = (m: Map<string, Family>) => ['successful', 'dismissed'].map((status) => sumOf(m, 'ogcapi_jobs', 'ogcapi_jobs', { backend: 'local', status }));
    const before = jobs(await scrape(server));
    assert.ok(sumOf(await scrape(server), 'ogcapi_jobs_finished_total', 'ogcapi_jobs_finished_total') >= 5);
    await server.stop();
    server = await startTestServer({ configYaml: config('jobs.sqlite'), dir });
    const metrics = await scrape(server);
    assert.equal(sumOf(metrics, 'ogcapi_jobs_submitted_total', 'ogcapi_jobs_submitted_total'), 0);
    assert.equal(sumOf(metrics, 'ogcapi_jobs_finished_total', 'ogcapi_jobs_finished_total'), 0);
    assert.equal(sumOf(metrics, 'ogcapi_job_duration_seconds', 'ogcapi_job_duration_seconds_count'), 0);
    assert.deepEqual(jobs(metrics), before);
  });
});
