import assert from 'node:assert/strict';
import { ANNOTATIONS, LABELS, LOG_FINALIZER } from '../../src/kubernetes/labels.js';
import { eventually, type TestServer } from '../support/server.js';
import { API_TOKEN, ClusterFixture, imageProcessesConfig } from './support.js';

const OGC = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0';

describe('GenericImageProcessor: image processes run as Kubernetes Jobs (real API server, kwok)', function () {
  this.timeout(60_000);
  const cluster = new ClusterFixture();
  let server: TestServer;

  before(async () => {
    await cluster.setUp('image-jobs');
    server = await cluster.server(imageProcessesConfig());
  });
  after(() => cluster.tearDown());

  const submit = async (processId: string, inputs: Record<string, unknown> = {}, response = 'raw') => {
    const res = await server.client.execute(processId, { inputs: { token: API_TOKEN, ...inputs }, response }, { Prefer: 'respond-async' });
    assert.equal(res.status, 201, res.text);
    return res.body.jobID as string;
  };
  const status = async (jobID: string) => (await server.client.get(`/jobs/${jobID}`)).body;
  type Status = { status: string; message: string; started?: string; finished?: string };
  const until = (jobID: string, done: (s: Status) => boolean, timeoutMs = 30_000): Promise<Status> => eventually(() => status(jobID) as Promise<Status>, done, timeoutMs);

  it('answers a synchronous execution with the outputs the container wrote to its termination message', async () => {
    const res = await server.client.execute('greeter', { inputs: { token: API_TOKEN, name: 'Ada' } });
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers['content-type']!, /^text\/plain/);
    assert.equal(res.text, 'hello from the pod');
  });

  it('answers a synchronous execution that outlives Prefer: wait=N as an async job (201), waiting on the watch', async () => {
    const res = await server.client.execute('slow', { inputs: { token: API_TOKEN } }, { Prefer: 'wait=1' });
    assert.equal(res.status, 201);
    assert.equal(res.headers['preference-applied'], 'wait=1');
    assert.equal(res.headers.location, `${server.url}/jobs/${res.body.jobID}`);
    await server.client.delete(`/jobs/${res.body.jobID}`);
  });

  it('follows an async job from accepted to successful and serves its results; the Job is labelled as ours', async () => {
    const jobID = await submit('two-outputs', { name: 'Grace' }, 'document');
    const job = await cluster.jobOf(jobID);
    assert.ok(job, 'the Kubernetes Job exists when the 201 is answered');
    assert.equal(job.metadata?.labels?.[LABELS.processId], 'two-outputs');
    assert.equal(job.metadata?.labels?.['app.kubernetes.io/managed-by'], 'ogcapi-k8s-manager');
    const done = await until(jobID, (s) => s.status === 'successful');
    assert.ok(done.started && done.finished, 'times come from the pod and the Job');
    assert.ok(Date.parse(done.started!) <= Date.parse(done.finished!));
    const results = await server.client.get(`/jobs/${jobID}/results`);
    assert.deepEqual(results.body, { greeting: 'hi', count: 2 });
    const saved = await eventually(() => cluster.jobOf(jobID), (j) => j?.metadata?.annotations?.[ANNOTATIONS.results] !== undefined);
    assert.deepEqual(JSON.parse(saved!.metadata!.annotations![ANNOTATIONS.results]!), { greeting: 'hi', count: 2 }, 'the outputs outlive the pod');
  });

  it('says clearly when a successful job returned no readable result', async () => {
    const jobID = await submit('unreadable');
    const done = await until(jobID, (s) => s.status === 'successful');
    assert.match(done.message, /no readable result: its termination message is not a JSON object/);
  });

  it('reports a failed job with the exit code and termination message', async () => {
    const jobID = await submit('failing');
    const failed = await until(jobID, (s) => s.status === 'failed');
    assert.match(failed.message, /exited with code 3/);
    assert.match(failed.message, /boom: the input was wrong/);
    const results = await server.client.get(`/jobs/${jobID}/results`);
    assert.equal(results.status, 500);
    assert.match(JSON.parse(results.text).detail, /code 3/);
  });

  it('fails a job that outlives its timeout (activeDeadlineSeconds)', async () => {
    const jobID = await submit('deadline');
    const failed = await until(jobID, (s) => s.status === 'failed', 40_000);
    assert.match(failed.message, /Timed out: the job ran longer than its limit of 2 s/);
  });

  it('dismisses a running job: its pods go away and it reads dismissed; dismissing again removes it', async () => {
    const jobID = await submit('slow');
    await until(jobID, (s) => s.status === 'running');
    const res = await server.client.delete(`/jobs/${jobID}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'dismissed');
    await eventually(() => cluster.podsOfJob(jobID), (pods) => pods.length === 0, 30_000);
    const job = await cluster.jobOf(jobID);
    assert.equal(job?.spec?.suspend, true, 'the Job is suspended, so no new pod is made');
    assert.equal((await status(jobID)).status, 'dismissed');
    const again = await server.client.delete(`/jobs/${jobID}`);
    assert.equal(again.status, 200);
    await eventually(() => cluster.jobOf(jobID), (j) => j === undefined, 30_000);
    assert.equal((await server.client.get(`/jobs/${jobID}`)).status, 404);
    assert.equal((await server.client.delete(`/jobs/${jobID}`)).status, 404);
  });

  it('with log archiving off: no pod carries the log finalizer; the live log is served, and once the pod is gone the problem says archiving is off', async () => {
    const jobID = await submit('slow');
    await until(jobID, (s) => s.status === 'running');
    const pods = await cluster.podsOfJob(jobID);
    assert.equal(pods.length, 1);
    assert.ok(!(pods[0]!.metadata?.finalizers ?? []).includes(LOG_FINALIZER), 'no log finalizer when archiving is off');
    const live = await server.client.get(`/jobs/${jobID}/logs`);
    assert.equal(live.status, 200);
    assert.equal(live.text, '', 'this pod logs nothing');
    await server.client.delete(`/jobs/${jobID}`);
    await eventually(() => cluster.podsOfJob(jobID), (remaining) => remaining.length === 0, 30_000);
    const gone = await eventually(() => server.client.get(`/jobs/${jobID}/logs`), (res) => res.status !== 200);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.type, 'urn:ogcapi-k8s-manager:problem:logs-not-available');
    assert.match(gone.body.detail, /does not archive logs \(manager\.finalizer_controller is off\)/);
  });

  it('answers 404 no-such-job when the Job was deleted behind the server\'s back', async () => {
    const jobID = await submit('slow');
    const job = await cluster.jobOf(jobID);
    await cluster.batch.deleteNamespacedJob({ namespace: cluster.namespace, name: job!.metadata!.name!, propagationPolicy: 'Background' });
    const res = await server.client.delete(`/jobs/${jobID}`);
    assert.equal(res.status, 404);
    assert.equal(JSON.parse(res.text).type, `${OGC}/no-such-job`);
    await eventually(() => server.client.get(`/jobs/${jobID}`), (r) => r.status === 404);
  });

  it('says why a job with an image that cannot be pulled waits, then fails it after the grace period and removes its pods', async () => {
    const jobID = await submit('bad-image');
    const waiting = await until(jobID, (s) => /ImagePullBackOff/.test(s.message ?? ''));
    assert.equal(waiting.status, 'accepted');
    const failed = await until(jobID, (s) => s.status === 'failed', 30_000);
    assert.match(failed.message, /could not start within 4 s: ImagePullBackOff/);
    await eventually(() => cluster.podsOfJob(jobID), (pods) => pods.length === 0, 30_000);
  });

  it('says why an unschedulable job waits, then fails it', async () => {
    const jobID = await submit('nowhere');
    const waiting = await until(jobID, (s) => /Unschedulable/.test(s.message ?? ''));
    assert.equal(waiting.status, 'accepted');
    await until(jobID, (s) => s.status === 'failed', 30_000);
  });

  describe('token (check_auth)', () => {
    for (const [name, inputs] of [['missing', {}], ['wrong', { token: 'not-the-token' }], ['empty', { token: '' }]] as const) {
      it(`answers 401 for a ${name} token and creates no Job`, async () => {
        const before = (await cluster.jobsInNamespace()).length;
        const res = await server.client.execute('greeter', { inputs: { name: 'x', ...inputs } });
        assert.equal(res.status, 401);
        const problem = JSON.parse(res.text);
        assert.match(problem.detail, /token/);
        assert.doesNotMatch(res.text, new RegExp(API_TOKEN));
        assert.equal((await cluster.jobsInNamespace()).length, before);
      });
    }

    it('takes the token as a qualified value too, as any input', async () => {
      const res = await server.client.execute('greeter', { inputs: { name: 'x', token: { value: API_TOKEN } } });
      assert.equal(res.status, 200, res.text);
    });

    it('lists the token as a password input in the process description', async () => {
      const res = await server.client.get('/processes/greeter');
      assert.deepEqual(res.body.inputs.token.schema, { type: 'string', format: 'password' });
      const open = await server.client.get('/processes/open');
      assert.equal(open.body.inputs.token, undefined);
    });

    it('runs a process without check_auth with no token', async () => {
      const res = await server.client.execute('open', { inputs: {} });
      assert.equal(res.status, 200);
      assert.equal(res.text, 'open');
    });

    it('refuses protected processes (503) when the server has no token, and runs open ones', async () => {
      const unprotected = await cluster.server(imageProcessesConfig(), null);
      const before = (await cluster.jobsInNamespace()).length;
      const res = await unprotected.client.execute('greeter', { inputs: { token: 'anything' } });
      assert.equal(res.status, 503);
      assert.match(JSON.parse(res.text).detail, /K8S_MANAGER_API_TOKEN/);
      assert.equal((await cluster.jobsInNamespace()).length, before);
      await cluster.stopServer(unprotected);
    });
  });

  it('refuses inputs over the budget with 413 and creates no Job', async () => {
    const before = (await cluster.jobsInNamespace()).length;
    const res = await server.client.execute('greeter', { inputs: { token: API_TOKEN, blob: 'x'.repeat(3000) } });
    assert.equal(res.status, 413);
    assert.match(JSON.parse(res.text).detail, /at most 2048/);
    assert.equal((await cluster.jobsInNamespace()).length, before);
  });

  it('rejects invalid inputs with 400 before any Job exists', async () => {
    const before = (await cluster.jobsInNamespace()).length;
    const res = await server.client.execute('greeter', { inputs: { token: API_TOKEN, name: 5, other: 1 } });
    assert.equal(res.status, 400);
    assert.equal((await cluster.jobsInNamespace()).length, before);
    const missing = await server.client.get('/jobs/00000000-0000-0000-0000-000000000000');
    assert.equal(JSON.parse(missing.text).type, `${OGC}/no-such-job`);
  });

  it('answers 502 naming what the API server refused when it rejects the Job, and creates nothing', async () => {
    const before = (await cluster.jobsInNamespace()).length;
    const res = await server.client.execute('rejected', { inputs: { token: API_TOKEN } });
    assert.equal(res.status, 502);
    assert.match(JSON.parse(res.text).detail, /could not be created: Kubernetes API answered 422: .*tolerationSeconds/);
    assert.equal((await cluster.jobsInNamespace()).length, before);
  });

  it('lists image jobs beside local ones, filtered by process', async () => {
    const jobID = await submit('greeter');
    const list = await server.client.get('/jobs?processID=greeter&limit=100');
    assert.ok(list.body.jobs.some((j: { jobID: string }) => j.jobID === jobID));
    assert.ok(list.body.jobs.every((j: { processID: string }) => j.processID === 'greeter'));
  });
});
