import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { eventually } from '../support/server.js';
import { loadTestEnvironment } from '../testenv/connect.js';
import { dataBucketVariables, s3Client, type S3Connection } from '../testenv/s3-server.js';
import { API_TOKEN, ClusterFixture, imageProcess } from './support.js';

describe('files of Kubernetes jobs: swept once their Job is gone, and stopped Jobs removed after their time to live', function () {
  this.timeout(90_000);
  const cluster = new ClusterFixture();
  let s3: S3Connection;
  let bucket: S3Client;
  let prefix: string;
  let config: string;
  let now = 0; // set by each test: the suites load long before they run
  const clock = { now: () => now };

  before(async () => {
    await cluster.setUp('files-sweep');
    s3 = loadTestEnvironment().s3;
    bucket = s3Client(s3);
    prefix = `sweep-${cluster.namespace}/`;
    config = `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}
manager:
  local_store: {path: ':memory:'}
  kubernetes: {resync_seconds: 1, files_sweep_seconds: 1, stager: {image: example.test/stager:1}}
resources:
${imageProcess('writer', 'example.test/slow:1', { 'testenv.ogcapi/run-for': '600s' }, 'ttl_seconds_after_finished: 120\n      files: {outputs: {result: {media_type: text/plain}}}')}
`;
  });
  after(async () => {
    bucket?.destroy();
    await cluster.tearDown();
  });

  const keys = async (under: string) => ((await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: under }))).Contents ?? []).map((o) => o.Key!.slice(under.length)).sort();
  const put = (key: string) => bucket.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}${key}`, Body: 'bytes' }));
  const submit = async (server: Awaited<ReturnType<ClusterFixture['server']>>) => {
    const res = await server.client.execute('writer', { inputs: { token: API_TOKEN } }, { Prefer: 'respond-async' });
    assert.equal(res.status, 201, res.text);
    return res.body.jobID as string;
  };

  it('removes the files of a Job deleted while no server watched (and of a note whose Job never came), keeps a live job\'s and a shared log archive\'s', async () => {
    const first = await cluster.server(config, API_TOKEN, dataBucketVariables(s3, prefix));
    const [kept, gone] = [await submit(first), await submit(first)];
    const neverCreated = randomUUID();
    assert.deepEqual(await keys(`${prefix}cluster-jobs/${cluster.namespace}/`), [gone, kept].sort(), 'each job with files is noted beside the job prefixes');
    for (const jobID of [kept, gone]) await put(`${jobID}/outputs/result`);
    await put(`${gone}/writer-pod/main.log`); // a log archive sharing the bucket and prefix
    await put(`cluster-jobs/${cluster.namespace}/${neverCreated}`);
    await put(`cluster-jobs/another-installation/${neverCreated}`); // another namespace's note: not ours to sweep
    await put(`${neverCreated}/inputs/data`);
    await cluster.stopServer(first);
    const job = await cluster.jobOf(gone);
    await cluster.batch.deleteNamespacedJob({ namespace: cluster.namespace, name: job!.metadata!.name!, propagationPolicy: 'Background' });
    await eventually(() => cluster.jobOf(gone), (j) => j === undefined);

    const young = await cluster.server(config, API_TOKEN, dataBucketVariables(s3, prefix));
    await new Promise((resolve) => setTimeout(resolve, 1500)); // a sweep or two: notes under ten minutes old stay
    assert.deepEqual(await keys(`${prefix}${gone}/`), ['outputs/result', 'writer-pod/main.log']);
    await cluster.stopServer(young);

    now = Date.now() + 11 * 60_000;
    await cluster.server(config, API_TOKEN, dataBucketVariables(s3, prefix), clock);
    await eventually(() => keys(`${prefix}cluster-jobs/${cluster.namespace}/`), (notes) => notes.length === 1, 15_000);
    assert.deepEqual(await keys(`${prefix}cluster-jobs/${cluster.namespace}/`), [kept]);
    assert.deepEqual(await keys(`${prefix}cluster-jobs/another-installation/`), [neverCreated], 'another namespace sharing the bucket keeps its notes');
    assert.deepEqual(await keys(`${prefix}${gone}/`), ['writer-pod/main.log'], 'the job\'s files are gone; the archived log is not the sweep\'s');
    assert.deepEqual(await keys(`${prefix}${neverCreated}/`), []);
    assert.deepEqual(await keys(`${prefix}${kept}/`), ['outputs/result'], 'a job whose Job exists keeps its files');
  });

  it('removes a Job dismissed while it ran once its time to live has passed, with files uploaded after the dismissal', async () => {
    now = Date.now();
    const server = await cluster.server(config, API_TOKEN, dataBucketVariables(s3, prefix), clock);
    const jobID = await submit(server);
    await eventually(async () => (await server.client.get(`/jobs/${jobID}`)).body.status, (status) => status === 'running', 20_000);
    assert.equal((await server.client.delete(`/jobs/${jobID}`)).body.status, 'dismissed');
    await put(`${jobID}/outputs/result`); // a stopping sidecar's late upload
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.ok(await cluster.jobOf(jobID), 'the suspended Job stays for its time to live');
    assert.equal((await server.client.get(`/jobs/${jobID}`)).body.status, 'dismissed');

    now += 121_000;
    await eventually(() => cluster.jobOf(jobID), (job) => job === undefined, 15_000);
    await eventually(() => keys(`${prefix}${jobID}/`), (left) => left.length === 0);
    // The note goes last, once the files are gone: a moment after them.
    await eventually(() => keys(`${prefix}cluster-jobs/${cluster.namespace}/`), (notes) => !notes.includes(jobID));
    assert.equal((await server.client.get(`/jobs/${jobID}`)).status, 404);
  });
});
