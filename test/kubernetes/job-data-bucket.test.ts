import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { eventually, startTestServer, type TestServer } from '../support/server.js';
import { loadTestEnvironment } from '../testenv/connect.js';
import { dataBucketVariables, s3Client, type S3Connection } from '../testenv/s3-server.js';
import { API_TOKEN, ClusterFixture } from './support.js';

const TEXT = 'The cat and the hat. The end!';
const CSV = 'word,count\nthe,3\nand,1\ncat,1\nend,1\nhat,1\n';

describe('job files in the data bucket (versitygw): stored under the job\'s prefix, removed with the job, nothing left by a refused input', function () {
  this.timeout(60_000);
  let s3: S3Connection;
  let bucket: S3Client;
  let prefix: string;
  let big: Server;
  let bigUrl: string;
  const servers: TestServer[] = [];

  const replica = async (pathPrefix = prefix, env: NodeJS.ProcessEnv = {}, files = '') => {
    const server = await startTestServer({
      env: { ...dataBucketVariables(s3, pathPrefix), ...env },
      configYaml: `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}
manager:
  local_store: {path: ':memory:'}
  files: {href: {allow_private_networks: true}${files}}
resources:
  word-frequencies: {type: process, processor: {name: WordFrequencies}}
`,
    });
    servers.push(server);
    return server;
  };
  const objectsOf = async (jobID: string) =>
    ((await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}${jobID}/` }))).Contents ?? []).map((o) => o.Key!.slice(`${prefix}${jobID}/`.length)).sort();
  const unfinishedUploads = async (under: string) => ((await bucket.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: under }))).Uploads ?? []).length;

  before(async () => {
    s3 = loadTestEnvironment().s3;
    bucket = s3Client(s3);
    prefix = `job-data-${Date.now()}/`;
    // 11 MiB of text: past the input's 10 MiB limit, and more than two multipart parts
    big = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(Buffer.alloc(11 * 1024 * 1024, 'a'));
    });
    await new Promise<void>((resolve) => big.listen(0, '127.0.0.1', resolve));
    bigUrl = `http://127.0.0.1:${(big.address() as { port: number }).port}/big.txt`;
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    big?.close();
    bucket?.destroy();
  });

  it('keeps a job\'s input and output files under <prefix><job>/ with their media types, and serves the output through its link', async () => {
    const server = await replica();
    const res = await server.client.execute('word-frequencies', { inputs: { text: TEXT }, response: 'document', outputs: { frequencies: { transmissionMode: 'reference' } } });
    assert.equal(res.status, 200, res.text);
    const href = new URL(res.body.frequencies.href);
    const jobID = href.pathname.split('/')[2]!;
    assert.deepEqual(await objectsOf(jobID), ['inputs/text', 'outputs/frequencies']);
    const stored = await bucket.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${prefix}${jobID}/outputs/frequencies` }));
    assert.equal(stored.ContentType, 'text/csv');
    assert.equal(await stored.Body!.transformToString(), CSV);
    const served = await server.client.raw().get(`${href.pathname}${href.search}`);
    assert.match(served.headers['content-type']!, /^text\/csv/);
    assert.equal(served.text, CSV);
  });

  it('gives presigned links straight to the store when it has a public endpoint: the file in its media type until the link expires or the job goes', async () => {
    const server = await replica(prefix, { K8S_MANAGER_DATA_BUCKET_PUBLIC_ENDPOINT: s3.endpoint }, ', link_ttl_seconds: 2');
    const byReference = { inputs: { text: TEXT }, response: 'document', outputs: { frequencies: { transmissionMode: 'reference' } } };
    const res = await server.client.execute('word-frequencies', byReference);
    assert.equal(res.status, 200, res.text);
    const href: string = res.body.frequencies.href;
    assert.ok(href.startsWith(`${s3.endpoint}/${s3.bucket}/${prefix}`), href);
    assert.match(href, /X-Amz-Expires=2&.*X-Amz-Signature=/);
    assert.ok(!href.includes(s3.secretAccessKey));
    const direct = await fetch(href);
    assert.equal(direct.status, 200);
    assert.equal(direct.headers.get('content-type'), 'text/csv');
    assert.equal(await direct.text(), CSV);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal((await fetch(href)).status, 403, 'expired');

    const dismissed = await server.client.execute('word-frequencies', byReference);
    const jobID = new URL(dismissed.body.frequencies.href).pathname.split('/')[3]!;
    assert.equal((await server.client.delete(`/jobs/${jobID}`)).status, 200);
    assert.equal((await fetch(dismissed.body.frequencies.href)).status, 404, 'gone with its job');
  });

  it('takes an input by s3:// reference to the data bucket, and refuses other buckets and missing keys', async () => {
    const server = await replica();
    const Key = `${prefix}datasets/story.txt`;
    await bucket.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: TEXT, ContentType: 'text/plain' }));
    const res = await server.client.execute('word-frequencies', { inputs: { text: { href: `s3://${s3.bucket}/${Key}` } }, response: 'document', outputs: { summary: {} } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.summary.value, { words: 7, distinct: 5 });
    const other = await server.client.execute('word-frequencies', { inputs: { text: { href: `s3://another-bucket/${Key}` } } });
    assert.equal(other.status, 400);
    assert.match(other.body.detail, /input 'text'.*name the data bucket 'ogcapi-testenv' only, not 'another-bucket'/);
    const done = await server.client.execute('word-frequencies', { inputs: { text: TEXT }, response: 'document', outputs: { frequencies: { transmissionMode: 'reference' } } });
    const jobID = new URL(done.body.frequencies.href).pathname.split('/')[2]!;
    const another = await server.client.execute('word-frequencies', { inputs: { text: { href: `s3://${s3.bucket}/${prefix}${jobID}/inputs/text` } } });
    assert.equal(another.status, 400, 'a job\'s files are reached through their job only');
    assert.match(another.body.detail, /may not name the files of a job/);
    await bucket.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}datasets/picture.png`, Body: Buffer.alloc(64), ContentType: 'image/png' }));
    const picture = await server.client.execute('word-frequencies', { inputs: { text: { href: `s3://${s3.bucket}/${prefix}datasets/picture.png` } } });
    assert.equal(picture.status, 400);
    assert.match(picture.body.detail, /has media type image\/png/);
    assert.equal((await server.client.get('/jobs')).status, 200, 'the server lives on after a refused object');
    const missing = await server.client.execute('word-frequencies', { inputs: { text: { href: `s3://${s3.bucket}/${prefix}datasets/none.txt` } } });
    assert.equal(missing.status, 400);
    assert.match(missing.body.detail, /input 'text'.*names no object/);
  });

  it('refuses an input past its limit while streaming it to the bucket (413), and leaves no object and no unfinished upload', async () => {
    const own = `${prefix}refused/`;
    const server = await replica(own);
    const res = await server.client.execute('word-frequencies', { inputs: { text: { href: bigUrl } } });
    assert.equal(res.status, 413, res.text);
    assert.match(res.body.detail, /input 'text'.*larger than its limit/);
    assert.equal((await server.client.get('/jobs')).body.numberMatched, 0, 'no job');
    assert.deepEqual((await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: own }))).Contents ?? [], [], 'no object');
    assert.equal(await unfinishedUploads(own), 0, 'the multipart upload was aborted');
  });

  it('removes a dismissed job\'s objects, unfinished multipart uploads included', async () => {
    const server = await replica();
    const created = await server.client.execute('word-frequencies', { inputs: { text: TEXT } }, { Prefer: 'respond-async' });
    const jobID = created.body.jobID as string;
    await eventually(async () => (await server.client.get(`/jobs/${jobID}`)).body.status, (s) => s === 'successful');
    const Key = `${prefix}${jobID}/outputs/partial`;
    const { UploadId } = await bucket.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key }));
    await bucket.send(new UploadPartCommand({ Bucket: s3.bucket, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(1024) }));
    assert.equal(await unfinishedUploads(`${prefix}${jobID}/`), 1);
    assert.equal((await server.client.delete(`/jobs/${jobID}`)).status, 200);
    assert.deepEqual(await objectsOf(jobID), []);
    assert.equal(await unfinishedUploads(`${prefix}${jobID}/`), 0);
  });
});

describe('job files of an image process go when Kubernetes deletes its Job (retention, kwok)', function () {
  this.timeout(60_000);
  const cluster = new ClusterFixture();
  let s3: S3Connection;
  let bucket: S3Client;
  const prefix = `retention-${Date.now()}/`;

  before(async () => {
    await cluster.setUp('job-files-retention');
    s3 = loadTestEnvironment().s3;
    bucket = s3Client(s3);
  });
  after(async () => {
    bucket?.destroy();
    await cluster.tearDown();
  });

  it('removes the staged inputs once the Job is deleted after its ttl_seconds_after_finished', async () => {
    const server = await cluster.server(`
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}
manager:
  local_store: {path: ':memory:'}
  kubernetes: {resync_seconds: 1, stager: {image: example.test/stager:1}}
resources:
  short-lived:
    type: process
    processor:
      name: GenericImageProcessor
      image: example.test/short-lived:1
      ttl_seconds_after_finished: 1
      annotations: {testenv.ogcapi/termination-message: '{"greeting": "done"}'}
      files: {inputs: {text: {media_types: [text/plain], max_bytes: 1024}}}
      metadata: {title: short-lived, outputs: {greeting: {schema: {type: string}}}}
`, API_TOKEN, dataBucketVariables(s3, prefix));
    const created = await server.client.execute('short-lived', { inputs: { token: API_TOKEN, text: TEXT } }, { Prefer: 'respond-async' });
    assert.equal(created.status, 201, created.text);
    const jobID = created.body.jobID as string;
    const keys = async () => ((await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}${jobID}/` }))).Contents ?? []).map((o) => o.Key!);
    assert.deepEqual(await keys(), [`${prefix}${jobID}/inputs/text`], 'the input waits in the bucket for the pod');
    await eventually(() => cluster.jobOf(jobID), (job) => job === undefined, 30_000);
    await eventually(keys, (left) => left.length === 0, 10_000);
  });
});
