/**
 * `npm run bench:files`: a 1 GiB file input staged and a 1 GiB file output returned through the server,
 * side by side with plain S3 copies of the same bytes on the same machine (issue 18). An image process
 * on the test environment's real node copies /inputs/data to /outputs/copy; the server takes the input
 * by reference from a local HTTP server; the output is downloaded through the server's own link and
 * through the presigned link straight to the store that results give when the store has a public
 * endpoint. Prints each transfer's throughput against the plain copy and the server's memory growth.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, get, type IncomingMessage } from 'node:http';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { removePrefix, uploadStream } from '../../src/s3/streams.js';
import { memoryMiB } from '../support/process-stats.js';
import { startServerProcess } from '../support/server-process.js';
import { startTestEnvironment, stopTestEnvironment, type TestEnvironment } from '../testenv/environment.js';
import { realNodeProcess } from '../testenv/real-node.js';
import { dataBucketVariables, s3Client } from '../testenv/s3-server.js';
import { SignedLinks } from '../../src/job-data/signed-links.js';

const SIZE = Number(process.env.BENCH_FILE_BYTES ?? 2 ** 30);
const CHUNK = Buffer.alloc(1024 * 1024, 'x');
const TOKEN = randomUUID();
const LINK_KEY = randomUUID() + randomUUID();

/** SIZE bytes, made as they are read (nothing held in memory). */
const source = () =>
  Readable.from((function* () {
    for (let sent = 0; sent < SIZE; sent += CHUNK.length) yield SIZE - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, SIZE - sent);
  })());
const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });
const timed = async (work: () => Promise<unknown>) => {
  const began = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - began) / 1e9;
};
const rate = (seconds: number) => `${(SIZE / 2 ** 20 / seconds).toFixed(0).padStart(5)} MiB/s (${seconds.toFixed(1)} s)`;

const started = !process.env.OGC_TESTENV_CONNECTION;
const environment: TestEnvironment = started
  ? await startTestEnvironment({ log: (line) => console.log(line) })
  : (JSON.parse(readFileSync(process.env.OGC_TESTENV_CONNECTION!, 'utf8')) as TestEnvironment);
const node = environment.realNode;
if (!node) throw new Error(`the benchmark needs the test environment's real node (missing: ${environment.realNodeMissing?.join('; ')})`);
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(environment.kubeconfigPath);
const core = kubeConfig.makeApiClient(CoreV1Api);
const namespace = `bench-files-${randomUUID().slice(0, 8)}`;
const bucket = s3Client(environment.s3);
const prefix = `${namespace}/`;
const files = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': SIZE });
  void pipeline(source(), res).catch(() => undefined);
});

try {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  for (let i = 0; !(await core.readNamespacedServiceAccount({ namespace, name: 'default' }).then(() => true, () => false)); i++) {
    if (i > 100) throw new Error('the namespace has no default ServiceAccount after 10 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  const inputUrl = `http://127.0.0.1:${(files.address() as { port: number }).port}/data.bin`;

  // The floor: a plain copy of the same bytes from the same HTTP source into the bucket, and back out of it.
  const key = `${prefix}plain/data.bin`;
  const download = (from: string) => new Promise<IncomingMessage>((resolve, reject) => get(from, resolve).on('error', reject));
  const plainUp = await timed(async () => uploadStream(bucket, { Bucket: environment.s3.bucket, Key: key, ContentType: 'application/octet-stream' }, await download(inputUrl)));
  const plainDown = await timed(async () => pipeline((await bucket.send(new GetObjectCommand({ Bucket: environment.s3.bucket, Key: key }))).Body as Readable, sink()));

  const { child: server, url } = await startServerProcess(
    `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: warn}}
manager:
  local_store: {path: ':memory:'}
  files: {href: {allow_private_networks: true}}
  kubernetes: {resync_seconds: 1, stager: {image: ${node.images.stager}, image_pull_policy: Never}}
resources:
${realNodeProcess(node, 'copy', 'cp /inputs/data /outputs/copy', {
  options: ['host_network: true', `files: {inputs: {data: {media_types: [application/octet-stream], max_bytes: ${SIZE}}}, outputs: {copy: {media_type: application/octet-stream}}}`],
})}
`,
    {
      KUBECONFIG: environment.kubeconfigPath,
      K8S_MANAGER_NAMESPACE: namespace,
      K8S_MANAGER_API_TOKEN: TOKEN,
      K8S_MANAGER_LINK_KEY: LINK_KEY,
      ...dataBucketVariables(environment.s3, prefix),
      K8S_MANAGER_DATA_BUCKET_PUBLIC_ENDPOINT: environment.s3.endpoint,
    },
  );
  try {
    writeFileSync(`/proc/${server.pid}/clear_refs`, '5'); // the peak (VmHWM) counts from here
    const before = memoryMiB(server.pid!, 'VmRSS');

    let jobID = '';
    const staged = await timed(async () => {
      const res = await fetch(`${url}/processes/copy/execution`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Prefer: 'respond-async' },
        body: JSON.stringify({ inputs: { token: TOKEN, data: { href: inputUrl } }, response: 'document', outputs: { copy: { transmissionMode: 'reference' } } }),
      });
      if (res.status !== 201) throw new Error(`execute answered ${res.status}: ${await res.text()}`);
      jobID = ((await res.json()) as { jobID: string }).jobID;
    });
    // Each phase's peak apart: the input staged, then (after the job) the output returned.
    const stagingPeak = memoryMiB(server.pid!, 'VmHWM');
    const ran = await timed(async () => {
      for (let i = 0; ; i++) {
        const status = ((await (await fetch(`${url}/jobs/${jobID}`)).json()) as { status: string; message: string });
        if (status.status === 'successful') return;
        if (status.status === 'failed' || i > 6000) throw new Error(`the job did not succeed: ${JSON.stringify(status)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });
    const results = (await (await fetch(`${url}/jobs/${jobID}/results`)).json()) as { copy: { href: string } };
    writeFileSync(`/proc/${server.pid}/clear_refs`, '5');
    const beforeReturn = memoryMiB(server.pid!, 'VmRSS');
    if (!results.copy.href.startsWith(environment.s3.endpoint)) throw new Error(`the results gave ${results.copy.href}, not a link to the store`);
    // node:http, as the plain download's SDK uses: the same kind of client on both sides
    const downloaded = (link: string) => timed(async () => {
      let received = 0;
      for await (const chunk of (await download(link)) as AsyncIterable<Buffer>) received += chunk.length;
      if (received !== SIZE) throw new Error(`${link} gave ${received} bytes, not ${SIZE}`);
    });
    const returned = await downloaded(new SignedLinks(Buffer.from(LINK_KEY), { now: () => Date.now() }, 600, url).href(jobID, 'copy'));
    const presigned = await downloaded(results.copy.href);
    const peak = memoryMiB(server.pid!, 'VmHWM');

    console.log(`\n${(SIZE / 2 ** 30).toFixed(2)} GiB through the server, side by side with plain S3 copies on this machine`);
    console.log(`  input staged (href → server → bucket):    ${rate(staged)}   plain copy href → bucket: ${rate(plainUp)}   ${((plainUp / staged) * 100).toFixed(0)}% of plain`);
    console.log(`  output returned (bucket → server → link): ${rate(returned)}   plain S3 download:        ${rate(plainDown)}   ${((plainDown / returned) * 100).toFixed(0)}% of plain`);
    console.log(`  output by presigned link (bucket → link): ${rate(presigned)}   plain S3 download:        ${rate(plainDown)}   ${((plainDown / presigned) * 100).toFixed(0)}% of plain`);
    console.log(`  the job itself (stage-in, cp, stage-out in the pod): ${ran.toFixed(1)} s`);
    console.log(`  server RSS while staging the input: ${before.toFixed(0)} MiB before, peak ${stagingPeak.toFixed(0)} MiB: growth ${(stagingPeak - before).toFixed(0)} MiB (goal ≤ 64 MiB)`);
    console.log(`  server RSS while returning the output: ${beforeReturn.toFixed(0)} MiB before, peak ${peak.toFixed(0)} MiB: growth ${(peak - beforeReturn).toFixed(0)} MiB (goal ≤ 64 MiB)`);
  } finally {
    server.kill('SIGTERM');
  }
} finally {
  files.close();
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  await removePrefix(bucket, environment.s3.bucket, prefix).catch(() => undefined);
  bucket.destroy();
  if (started) await stopTestEnvironment(environment.stateDir);
}
