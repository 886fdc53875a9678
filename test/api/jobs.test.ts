import assert from 'node:assert/strict';
import { eventually, startTestServer, type TestServer } from '../support/server.js';

const OGC = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0';

describe('jobs: status, results and dismiss', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer()));
  after(() => server.stop());

  const submit = async (inputs: Record<string, unknown>, response = 'raw') => {
    const res = await server.client.execute('echo', { inputs, response }, { Prefer: 'respond-async' });
    assert.equal(res.status, 201);
    return res.body.jobID as string;
  };
  const status = async (jobID: string) => (await server.client.get(`/jobs/${jobID}`)).body;
  const finished = (jobID: string) => eventually(() => status(jobID), (s) => ['successful', 'failed', 'dismissed'].includes(s.status));

  it('follows an async job from accepted through running to successful, with times and progress', async () => {
    const jobID = await submit({ string_input: 'async', pause: 1 });
    const running = await eventually(() => status(jobID), (s) => s.status === 'running');
    assert.ok(running.started);
    assert.equal(running.finished, undefined);
    const done = await finished(jobID);
    assert.equal(done.status, 'successful');
    assert.equal(done.progress, 100);
    assert.ok(Date.parse(done.created) <= Date.parse(done.started));
    assert.ok(Date.parse(done.finished) - Date.parse(done.started) >= 900, 'the pause really ran');
    assert.ok(done.links.some((l: { rel: string; href: string }) => l.rel === 'http://www.opengis.net/def/rel/ogc/1.0/results' && l.href.endsWith(`/jobs/${jobID}/results`)));
  });

  it('says a local job has no container logs (404 logs-not-available, no logs link) and an unknown job is no-such-job', async () => {
    const jobID = await submit({ string_input: 'x' });
    const done = await finished(jobID);
    assert.ok(!done.links.some((l: { href: string }) => l.href.endsWith('/logs')), 'no logs link for a local job');
    const logs = await server.client.get(`/jobs/${jobID}/logs`);
    assert.equal(logs.status, 404);
    assert.equal(logs.body.type, 'urn:ogcapi-k8s-manager:problem:logs-not-available');
    assert.match(logs.body.detail, /local process/);
    const unknown = await server.client.get('/jobs/no-such-job/logs');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.type, `${OGC}/no-such-job`);
  });

  it('serves the results of an async job as its execute request asked', async () => {
    const raw = await submit({ string_input: 'r' });
    await finished(raw);
    const rawResults = await server.client.get(`/jobs/${raw}/results`);
    assert.equal(rawResults.status, 200);
    assert.match(rawResults.headers['content-type']!, /^text\/plain/);
    assert.equal(rawResults.text, 'r');

    const document = await submit({ number_input: 2, object_input: { a: 1 } }, 'document');
    await finished(document);
    const documentResults = await server.client.get(`/jobs/${document}/results`);
    assert.deepEqual(documentResults.body, { number_input: 2, object_input: { value: { a: 1 }, mediaType: 'application/json' } });
  });

  it('answers 404 result-not-ready while the job runs', async () => {
    const jobID = await submit({ pause: 5 });
    const res = await server.client.get(`/jobs/${jobID}/results`);
    assert.equal(res.status, 404);
    assert.equal(JSON.parse(res.text).type, `${OGC}/result-not-ready`);
    await server.client.delete(`/jobs/${jobID}`);
  });

  it('answers 404 no-such-job for an unknown job, on status, results and dismiss', async () => {
    for (const res of [
      await server.client.get('/jobs/unknown-job'),
      await server.client.get('/jobs/unknown-job/results'),
      await server.client.delete('/jobs/unknown-job'),
    ]) {
      assert.equal(res.status, 404);
      const problem = JSON.parse(res.text);
      assert.equal(problem.type, `${OGC}/no-such-job`);
      assert.match(problem.detail, /unknown-job/);
    }
  });

  it('dismisses a running job: it reads dismissed and its work really stops', async () => {
    const jobID = await submit({ string_input: 'x', pause: 2 });
    await eventually(() => status(jobID), (s) => s.status === 'running');
    const res = await server.client.delete(`/jobs/${jobID}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'dismissed');
    assert.ok(res.body.finished);
    // Past the end of the pause, a job whose work went on would have turned successful.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const after = await status(jobID);
    assert.equal(after.status, 'dismissed');
    const results = await server.client.get(`/jobs/${jobID}/results`);
    assert.equal(results.status, 404);
    assert.match(JSON.parse(results.text).detail, /dismissed/);
  });

  it('removes a finished job on dismiss; repeating it is safe', async () => {
    const jobID = await submit({ string_input: 'gone' });
    await finished(jobID);
    const first = await server.client.delete(`/jobs/${jobID}`);
    assert.equal(first.status, 200);
    assert.equal(first.body.status, 'dismissed');
    assert.equal((await server.client.get(`/jobs/${jobID}`)).status, 404);
    const again = await server.client.delete(`/jobs/${jobID}`);
    assert.equal(again.status, 404);
  });

  it('rejects unknown query parameters on job endpoints', async () => {
    const jobID = await submit({});
    for (const path of [`/jobs/${jobID}?x=1`, `/jobs/${jobID}/results?x=1`]) {
      const res = await server.client.get(path);
      assert.equal(res.status, 400, path);
    }
  });
});
