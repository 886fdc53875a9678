import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { OgcClient } from '../support/client.js';
import { startServerProcess } from '../support/server-process.js';
import { eventually, type TestServer } from '../support/server.js';
import { realNodeProcess, type RealNodeConnection } from '../testenv/real-node.js';
import { API_TOKEN, ClusterFixture, imageProcessesConfig, realNodeOrSkip } from './support.js';

describe('two server replicas on one cluster: either serves every job, and killing one loses nothing', function () {
  this.timeout(120_000);
  const cluster = new ClusterFixture();
  let node: RealNodeConnection;
  let a: { child: ChildProcess; client: OgcClient };
  let b: TestServer;

  before(async function () {
    node = realNodeOrSkip(this);
    await cluster.setUp('replicas');
    const config = imageProcessesConfig(realNodeProcess(node, 'counter', 'for i in 1 2 3 4 5; do echo "line $i"; sleep 1; done; printf \'{"greeting": "counted"}\' > /dev/termination-log', {
      metadata: '{title: counter, outputs: {greeting: {schema: {type: string, contentMediaType: text/plain}}}}',
    }));
    // Replica A is a process of its own, so that it can be killed; B runs in the test.
    const replica = await startServerProcess(config, cluster.env({ K8S_MANAGER_API_TOKEN: API_TOKEN }), { capture: true });
    a = { child: replica.child, client: new OgcClient(replica.url) };
    b = await cluster.server(config);
  });
  after(async () => {
    if (a && a.child.exitCode === null) a.child.kill('SIGKILL');
    await cluster.tearDown();
  });

  const submit = async (client: OgcClient, processId: string) => {
    const res = await client.execute(processId, { inputs: { token: API_TOKEN } }, { Prefer: 'respond-async' });
    assert.equal(res.status, 201, res.text);
    return res.body.jobID as string;
  };

  it('a job submitted to one is listed, read, followed (its log as it grows) and its results served by the other', async () => {
    const jobID = await submit(a.client, 'counter');
    const listed = await eventually(async () => (await b.client.get('/jobs?processID=counter')).body.jobs as Array<{ jobID: string }>, (jobs) => jobs.some((job) => job.jobID === jobID));
    assert.equal(listed.length, 1);
    await eventually(async () => (await b.client.get(`/jobs/${jobID}`)).body.status, (status) => status === 'running', 60_000);
    const followed = await b.client.get(`/jobs/${jobID}/logs?follow=true`);
    assert.equal(followed.status, 200);
    assert.equal(followed.text, 'line 1\nline 2\nline 3\nline 4\nline 5\n', 'the follow ends with the container');
    await eventually(async () => (await b.client.get(`/jobs/${jobID}`)).body.status, (status) => status === 'successful', 30_000);
    const results = await b.client.get(`/jobs/${jobID}/results`);
    assert.equal(results.text, 'counted');
  });

  it('a job dismissed through one reads dismissed through the other', async () => {
    const jobID = await submit(a.client, 'slow');
    await eventually(async () => (await b.client.get(`/jobs/${jobID}`)).status, (status) => status === 200);
    assert.equal((await b.client.delete(`/jobs/${jobID}`)).body.status, 'dismissed');
    await eventually(async () => (await a.client.get(`/jobs/${jobID}`)).body.status, (status) => status === 'dismissed');
  });

  it('killing a replica in the middle loses nothing: the other reports every job, the ones it ran included', async () => {
    const before = (await b.client.get('/jobs?limit=100')).body.numberMatched as number;
    const running = await submit(a.client, 'counter');
    const quick = await submit(a.client, 'greeter');
    a.child.kill('SIGKILL');
    await eventually(async () => a.child.exitCode !== null || a.child.signalCode !== null, Boolean);
    const done = async (jobID: string) => eventually(async () => (await b.client.get(`/jobs/${jobID}`)).body.status, (status) => status === 'successful', 60_000);
    await done(quick);
    await done(running);
    assert.equal((await b.client.get(`/jobs/${running}/results`)).text, 'counted');
    assert.equal((await b.client.get('/jobs?limit=100')).body.numberMatched, before + 2);
  });
});
