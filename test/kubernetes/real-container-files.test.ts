import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Response } from 'superagent';
import { eventually, type TestServer } from '../support/server.js';
import { loadTestEnvironment } from '../testenv/connect.js';
import { realNodeProcess, type RealNodeConnection } from '../testenv/real-node.js';
import { dataBucketVariables, s3Client, type S3Connection } from '../testenv/s3-server.js';
import { API_TOKEN, ClusterFixture, realNodeOrSkip } from './support.js';

const TEXT = 'Files in, files out.\n';
const BINARY = randomBytes(300 * 1024);
/**
 * An image that speaks S3 itself, as a user's would: the SDK finds the endpoint, region and credentials
 * in the standard AWS variables; the job's input is an s3:// URL, its outputs go under OUTPUT_PREFIX.
 */
const S3_SHOUT = `
const { S3Client, GetObjectCommand, PutObjectCommand } = await import('/app/dist/src/s3/client.js');
const s3 = new S3Client({ forcePathStyle: true });
const input = new URL(JSON.parse(process.env.K8S_MANAGER_INPUTS).text);
const object = await s3.send(new GetObjectCommand({ Bucket: input.host, Key: input.pathname.slice(1) }));
const text = await object.Body.transformToString();
await s3.send(new PutObjectCommand({ Bucket: process.env.OUTPUT_BUCKET, Key: process.env.OUTPUT_PREFIX + 'shouted', Body: text.toUpperCase(), ContentType: 'text/plain' }));
console.log('read ' + input.href + ', wrote ' + process.env.OUTPUT_PREFIX + 'shouted');
`;

describe('file inputs and outputs of image processes, staged on real containers through the data bucket', function () {
  this.timeout(120_000);
  const cluster = new ClusterFixture();
  let node: RealNodeConnection;
  let server: TestServer;
  let s3: S3Connection;
  let bucket: S3Client;
  let prefix: string;
  let files: Server;
  let filesUrl: string;

  /** A process on the real node. Its pod uses the host's network: the test S3 server listens on 127.0.0.1 only. */
  const process = (id: string, script: string, fileOptions: string) => realNodeProcess(node, id, script, { options: ['host_network: true', `files: ${fileOptions}`] });

  before(async function () {
    node = realNodeOrSkip(this);
    await cluster.setUp('real-files');
    s3 = loadTestEnvironment().s3;
    bucket = s3Client(s3);
    prefix = `files-${cluster.namespace}/`;
    files = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end(TEXT));
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    filesUrl = `http://127.0.0.1:${(files.address() as { port: number }).port}/text.txt`;
    const config = `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}
manager:
  local_store: {path: ':memory:'}
  sync_wait_seconds: 60
  files: {href: {allow_private_networks: true}}
  kubernetes: {stuck_grace_seconds: 10, resync_seconds: 1, stager: {image: ${node.images.stager}, image_pull_policy: Never}}
resources:
${process('shout', 'echo "inputs: $K8S_MANAGER_INPUTS"; tr a-z A-Z < /inputs/text > /outputs/shouted', '{inputs: {text: {media_types: [text/plain], max_bytes: 1048576}}, outputs: {shouted: {media_type: text/plain}}}')}
${process('copy', 'cp /inputs/data /outputs/copy', '{inputs: {data: {media_types: [application/octet-stream], max_bytes: 1048576}}, outputs: {copy: {media_type: application/octet-stream}}}')}
${process('forgetful', 'echo "nothing written"', '{outputs: {shouted: {media_type: text/plain}}}')}
${realNodeProcess(node, 's3-shout', S3_SHOUT, {
  image: node.images.stager,
  command: ['node', '--input-type=module', '-e'],
  options: ['host_network: true', 's3_access: {credentials_secret: data-bucket}', 'files: {inputs: {text: {media_types: [text/plain], max_bytes: 1048576}}, outputs: {shouted: {media_type: text/plain}}}'],
})}
`;
    await cluster.core.createNamespacedSecret({
      namespace: cluster.namespace,
      body: { metadata: { name: 'data-bucket' }, stringData: { 'access-key-id': s3.accessKeyId, 'secret-access-key': s3.secretAccessKey } },
    });
    server = await cluster.server(config, API_TOKEN, dataBucketVariables(s3, prefix));
  });
  after(async () => {
    files?.close();
    bucket?.destroy();
    await cluster.tearDown();
  });

  const execute = (processId: string, inputs: Record<string, unknown>, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    server.client.execute(processId, { inputs: { token: API_TOKEN, ...inputs }, ...extra }, headers);
  const objectsOf = async (jobID: string) => ((await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}${jobID}/` }))).Contents ?? []).map((o) => o.Key!.slice(`${prefix}${jobID}/`.length)).sort();
  /** supertest's parser for a body of any type: its bytes. */
  const asBytes = (res: Response, done: (error: Error | null, body: Buffer) => void) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => done(null, Buffer.concat(chunks)));
  };
  const bytesOf = async (href: string) => (await server.client.raw().get(new URL(href).pathname + new URL(href).search).buffer(true).parse(asBytes)).body as Buffer;

  it('describes file inputs and outputs the standard way', async () => {
    const description = (await server.client.get('/processes/shout')).body;
    assert.deepEqual(description.inputs.text.schema, { type: 'string', contentMediaType: 'text/plain' });
    assert.deepEqual(description.outputs.shouted.schema, { type: 'string', contentMediaType: 'text/plain' });
    assert.deepEqual(description.outputTransmission, ['value', 'reference']);
  });

  it('stages an inline text input into /inputs and returns what the container left in /outputs, by value and by reference', async () => {
    const document = await execute('shout', { text: TEXT }, { response: 'document' });
    assert.equal(document.status, 200, document.text);
    assert.deepEqual(document.body.shouted, { value: TEXT.toUpperCase(), mediaType: 'text/plain' });
    const byReference = await execute('shout', { text: { href: filesUrl } }, { response: 'document', outputs: { shouted: { transmissionMode: 'reference' } } });
    assert.equal(byReference.status, 200, byReference.text);
    assert.equal((await bytesOf(byReference.body.shouted.href)).toString(), TEXT.toUpperCase(), 'an input by reference, an output by reference');
  });

  it('gives the container each file input as its path, and the staging URLs only to the staging containers', async () => {
    const created = await execute('shout', { text: TEXT }, {}, { Prefer: 'respond-async' });
    const jobID = created.body.jobID as string;
    await eventually(async () => (await server.client.get(`/jobs/${jobID}`)).body.status, (s) => s === 'successful', 60_000);
    assert.match((await server.client.get(`/jobs/${jobID}/logs`)).text, /inputs: \{"text":"\/inputs\/text"\}/);
    const [pod] = await cluster.podsOfJob(jobID);
    const plan = (name: string) => [...(pod!.spec!.initContainers ?? []), ...pod!.spec!.containers].find((c) => c.name === name)!.env?.some((e) => e.name === 'K8S_MANAGER_STAGE_PLAN');
    assert.equal(plan('main'), false);
    assert.equal(plan('stage-in'), true);
    assert.equal(plan('stage-out'), true);
    assert.equal(pod!.spec!.initContainers!.find((c) => c.name === 'stage-out')!.restartPolicy, 'Always', 'a native sidecar');
  });

  it('carries binary files byte for byte: base64 in, raw and by reference out', async () => {
    const input = { data: { value: BINARY.toString('base64'), mediaType: 'application/octet-stream', encoding: 'base64' } };
    const raw = await server.client.raw().post('/processes/copy/execution').send({ inputs: { token: API_TOKEN, ...input } }).buffer(true).parse(asBytes);
    assert.equal(raw.status, 200);
    assert.equal(raw.headers['content-type'], 'application/octet-stream');
    assert.ok((raw.body as Buffer).equals(BINARY), 'raw: the same bytes');
    const document = await execute('copy', input, { response: 'document', outputs: { copy: { transmissionMode: 'reference' } } });
    assert.ok((await bytesOf(document.body.copy.href)).equals(BINARY), 'by reference: the same bytes');
  });

  it('lets an image that speaks S3 read its input and write its output itself, with credentials only from the Secret', async () => {
    const created = await execute('s3-shout', { text: TEXT }, {}, { Prefer: 'respond-async' });
    const jobID = created.body.jobID as string;
    const status = await eventually(async () => (await server.client.get(`/jobs/${jobID}`)).body, (s) => ['successful', 'failed'].includes(s.status), 60_000);
    assert.equal(status.status, 'successful', `${status.message}\n${(await server.client.get(`/jobs/${jobID}/logs`)).text}`);
    assert.match((await server.client.get(`/jobs/${jobID}/logs`)).text, new RegExp(`read s3://${s3.bucket}/${prefix}${jobID}/inputs/text, wrote ${prefix}${jobID}/outputs/shouted`));
    const results = await server.client.get(`/jobs/${jobID}/results`);
    assert.equal(results.text, TEXT.toUpperCase());
    const [pod] = await cluster.podsOfJob(jobID);
    const env = pod!.spec!.containers.find((c) => c.name === 'main')!.env!;
    assert.deepEqual({ ...env.find((e) => e.name === 'AWS_SECRET_ACCESS_KEY')!.valueFrom?.secretKeyRef }, { name: 'data-bucket', key: 'secret-access-key' });
    assert.ok(!JSON.stringify(pod).includes(s3.secretAccessKey), 'the secret is in no field of the pod');
    assert.equal(pod!.spec!.initContainers?.length ?? 0, 0, 'no staging containers');
  });

  it('fails a job whose container succeeded but left a declared output file out, naming it', async () => {
    const created = await execute('forgetful', {}, {}, { Prefer: 'respond-async' });
    const status = await eventually(async () => (await server.client.get(`/jobs/${created.body.jobID}`)).body, (s) => ['successful', 'failed'].includes(s.status), 60_000);
    assert.equal(status.status, 'failed');
    assert.match(status.message, /the container succeeded, but left no \/outputs\/shouted \(output 'shouted'\)/);
  });

  it('removes the job\'s objects when it is dismissed', async () => {
    const created = await execute('shout', { text: TEXT }, {}, { Prefer: 'respond-async' });
    const jobID = created.body.jobID as string;
    await eventually(async () => (await server.client.get(`/jobs/${jobID}`)).body.status, (s) => s === 'successful', 60_000);
    assert.deepEqual(await objectsOf(jobID), ['inputs/text', 'outputs/shouted']);
    assert.equal((await server.client.delete(`/jobs/${jobID}`)).status, 200);
    assert.deepEqual(await objectsOf(jobID), []);
  });
});
