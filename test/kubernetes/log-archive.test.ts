import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { V1Pod } from '@kubernetes/client-node';
import { buildLogArchiveController } from '../../src/compose.js';
import { systemClock } from '../../src/clock.js';
import { connectToCluster } from '../../src/kubernetes/cluster.js';
import { LOG_FINALIZER } from '../../src/kubernetes/labels.js';
import type { LogArchiveController } from '../../src/log-archive/controller.js';
import { createLogger } from '../../src/logger.js';
import { eventually, type TestServer } from '../support/server.js';
import { memoryMiB } from '../support/process-stats.js';
import { parsePrometheusText, sumOf } from '../support/prometheus-text.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { servedLog } from '../testenv/cri-log.js';
import { loadTestEnvironment } from '../testenv/connect.js';
import { s3Client, type S3Connection } from '../testenv/s3-server.js';
import { API_TOKEN, bucketVariables, ClusterFixture, type ControllerProcess, digestOf, imageProcess, startControllerProcess } from './support.js';

// Logs with the bytes that break naive handling: UTF-8, tabs, blank lines, trailing spaces.
const MAIN_LOG = 'starting: Grüße ✓\n\tstep 1 of 2  \n\nstep 2: done';
const INIT_LOG = 'prepare: fetching inputs\nprepare: ok';
const FAILING_LOG = 'reading input\nerror: the input was wrong';
const BIG_LINE = `${'0123456789'.repeat(99)}abcdefghi`; // 999 characters + newline = 1,000 bytes
const BIG_REPEAT = 52_000; // 52 MB
const BIGGER_REPEAT = 3 * BIG_REPEAT; // 156 MB

/** Reads a streamed response until `expected` has arrived (or it ends, or 10 s pass), then hangs up. */
async function readUntil(url: string, expected: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  assert.equal(response.status, 200);
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of response.body!) {
    text += decoder.decode(chunk as Uint8Array, { stream: true });
    if (text.length >= expected.length) break;
  }
  return text;
}

describe('log finalizer controller: job logs archived to S3 (real API server, kwok logs, versitygw)', function () {
  this.timeout(120_000);
  const cluster = new ClusterFixture();
  let s3: S3Connection;
  let bucket: S3Client;
  let prefix: string;
  const stopAfter: Array<() => Promise<unknown>> = [];

  before(async () => {
    await cluster.setUp('log-archive');
    s3 = loadTestEnvironment().s3;
    bucket = s3Client(s3);
    prefix = `archive-${cluster.namespace}/`;
  });
  afterEach(async () => {
    for (const stop of stopAfter.splice(0).reverse()) await stop().catch(() => undefined);
  });
  after(async () => {
    bucket?.destroy();
    await cluster.tearDown();
  });

  const bucketEnv = (endpoint = s3.endpoint) => bucketVariables(s3, prefix, endpoint);

  const archiveConfig = (runInServer: boolean, level = 'silent') => `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: ${level}}}
manager:
  local_store: {path: ':memory:'}
  sync_wait_seconds: 20
  kubernetes: {resync_seconds: 1, stuck_grace_seconds: 4}
  finalizer_controller: true
  log_archive: {run_in_server: ${runInServer}, lease_duration_seconds: 3, max_retry_seconds: 1, resync_seconds: 1}
resources:
${imageProcess('logged', 'example.test/logged:1', { 'testenv.ogcapi/log': MAIN_LOG, 'testenv.ogcapi/log.prepare': INIT_LOG, 'testenv.ogcapi/termination-message': '{"greeting": "hi"}' }, 'init_containers: [{name: prepare, image: example.test/prepare:1}]')}
${imageProcess('logged-failing', 'example.test/failing:1', { 'testenv.ogcapi/log': FAILING_LOG, 'testenv.ogcapi/exit-code': '3' })}
${imageProcess('logged-slow', 'example.test/slow:1', { 'testenv.ogcapi/log': MAIN_LOG, 'testenv.ogcapi/run-for': '60s' })}
${imageProcess('big-log', 'example.test/big:1', { 'testenv.ogcapi/log': BIG_LINE, 'testenv.ogcapi/log-repeat': String(BIG_REPEAT) })}
${imageProcess('bigger-log', 'example.test/big:1', { 'testenv.ogcapi/log': BIG_LINE, 'testenv.ogcapi/log-repeat': String(BIGGER_REPEAT) })}
`;

  const startServer = async (options: { runInServer?: boolean; endpoint?: string } = {}): Promise<TestServer> => {
    const server = await cluster.server(archiveConfig(options.runInServer ?? true), API_TOKEN, bucketEnv(options.endpoint));
    stopAfter.push(() => cluster.stopServer(server));
    return server;
  };
  const submit = async (server: TestServer, processId: string): Promise<string> => {
    const res = await server.client.execute(processId, { inputs: { token: API_TOKEN } }, { Prefer: 'respond-async' });
    assert.equal(res.status, 201, res.text);
    return res.body.jobID as string;
  };
  const statusOf = async (server: TestServer, jobID: string) => (await server.client.get(`/jobs/${jobID}`)).body as { status: string; message: string; links: Array<{ href: string; rel: string; type?: string }> };
  const untilStatus = (server: TestServer, jobID: string, status: string) => eventually(() => statusOf(server, jobID), (s) => s.status === status, 30_000);
  const podsOf = async (jobID: string): Promise<V1Pod[]> => cluster.podsOfJob(jobID);
  const keysOf = async (jobID: string): Promise<string[]> => {
    const listed = await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}${jobID}/` }));
    return (listed.Contents ?? []).map((object) => object.Key!).sort();
  };
  const untilArchived = (jobID: string, count: number, timeoutMs = 30_000) => eventually(() => keysOf(jobID), (keys) => keys.length >= count, timeoutMs);
  const object = async (key: string) => {
    const got = await bucket.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    return { text: await got.Body!.transformToString('utf8'), type: got.ContentType };
  };
  const untilPodsGone = (jobID: string, timeoutMs = 30_000) => eventually(() => podsOf(jobID), (pods) => pods.length === 0, timeoutMs);
  const holdsFinalizer = (pod: V1Pod) => pod.metadata?.finalizers?.includes(LOG_FINALIZER) ?? false;

  it('archives the logs of a succeeded job byte for byte, init container included, under <prefix><job>/<pod>/<container>.log, then releases the pod', async () => {
    const server = await startServer();
    const jobID = await submit(server, 'logged');
    const [pod] = await eventually(() => podsOf(jobID), (pods) => pods.length === 1);
    assert.ok(holdsFinalizer(pod!), 'the pod is created with the log finalizer');
    await untilStatus(server, jobID, 'successful');
    const keys = await untilArchived(jobID, 2);
    const podName = pod!.metadata!.name!;
    assert.deepEqual(keys, [`${prefix}${jobID}/${podName}/main.log`, `${prefix}${jobID}/${podName}/prepare.log`]);
    const main = await object(keys[0]!);
    assert.equal(main.text, servedLog(MAIN_LOG));
    assert.match(main.type ?? '', /^text\/plain/);
    assert.equal((await object(keys[1]!)).text, servedLog(INIT_LOG));
    await eventually(() => podsOf(jobID), (pods) => pods.length === 1 && !holdsFinalizer(pods[0]!));

    const status = await statusOf(server, jobID);
    const logsLink = status.links.find((link) => link.href.endsWith(`/jobs/${jobID}/logs`));
    assert.ok(logsLink, 'statusInfo links to the logs');
    assert.equal(logsLink.type, 'text/plain');
    const live = await server.client.get(`/jobs/${jobID}/logs`);
    assert.equal(live.status, 200);
    assert.match(live.headers['content-type']!, /^text\/plain/);
    assert.equal(live.text, servedLog(MAIN_LOG), 'the live log while the pod exists');
    assert.equal((await server.client.get(`/jobs/${jobID}/logs?container=prepare`)).text, servedLog(INIT_LOG));

    // Dismissing the finished job deletes its pods; the log is then served from the archive.
    assert.equal((await server.client.delete(`/jobs/${jobID}`)).status, 200);
    await untilPodsGone(jobID);
    const controller = server.services.logArchive!;
    assert.equal(await eventually(async () => controller.metrics().archivedPods, (n) => n > 0), 1, 'archived once: deleting the released pod archives nothing again');
  });

  it('archives the log of a failed job and of a job dismissed while running; the archive serves it once the pod is gone', async () => {
    const server = await startServer();
    const failed = await submit(server, 'logged-failing');
    const dismissed = await submit(server, 'logged-slow');
    await untilStatus(server, failed, 'failed');
    await untilStatus(server, dismissed, 'running');
    assert.equal((await server.client.get(`/jobs/${dismissed}/logs`)).text, servedLog(MAIN_LOG), 'the live log of a running job');
    const followed = await readUntil(`${server.url}/jobs/${dismissed}/logs?follow=true`, servedLog(MAIN_LOG));
    assert.equal(followed, servedLog(MAIN_LOG), 'follow streams the log while the container runs');
    assert.equal((await server.client.delete(`/jobs/${dismissed}`)).status, 200);
    const [failedKey] = await untilArchived(failed, 1);
    assert.equal((await object(failedKey!)).text, servedLog(FAILING_LOG));
    const [dismissedKey] = await untilArchived(dismissed, 1);
    assert.match(dismissedKey!, /\/main\.log$/);
    assert.equal((await object(dismissedKey!)).text, servedLog(MAIN_LOG));
    await untilPodsGone(dismissed);
    const archived = await server.client.get(`/jobs/${dismissed}/logs`);
    assert.equal(archived.status, 200, archived.text);
    assert.equal(archived.text, servedLog(MAIN_LOG), 'the archived copy once the pod is gone');
  });

  it('answers bad log requests with a problem naming what is wrong', async () => {
    const server = await startServer();
    const jobID = await submit(server, 'logged');
    await untilStatus(server, jobID, 'successful');
    const unknownContainer = await server.client.get(`/jobs/${jobID}/logs?container=sidecar`);
    assert.equal(unknownContainer.status, 400);
    assert.match(unknownContainer.body.detail, /no container 'sidecar'.*main/);
    const badName = await server.client.get(`/jobs/${jobID}/logs?container=Not_A_Name`);
    assert.equal(badName.status, 400);
    assert.match(badName.body.detail, /container/);
    const badFollow = await server.client.get(`/jobs/${jobID}/logs?follow=maybe`);
    assert.equal(badFollow.status, 400);
    assert.match(badFollow.body.detail, /follow/);
    const unknownParameter = await server.client.get(`/jobs/${jobID}/logs?tail=5`);
    assert.equal(unknownParameter.status, 400);
    const noJob = await server.client.get('/jobs/00000000-0000-4000-8000-000000000000/logs');
    assert.equal(noJob.status, 404);
    assert.equal(noJob.body.type, 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-job');
    assert.equal((await server.client.post(`/jobs/${jobID}/logs`, {})).status, 405);
  });

  it('S3 down: the pod is not deleted, the status says the logs are waiting, and the log arrives once S3 is back', async () => {
    const target = new URL(s3.endpoint);
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port) });
    await proxy.up();
    stopAfter.push(() => proxy.down());
    const server = await startServer({ endpoint: proxy.url });
    await proxy.down();
    const jobID = await submit(server, 'logged');
    await untilStatus(server, jobID, 'successful');
    const controller = server.services.logArchive!;
    await eventually(async () => controller.metrics().failedAttempts, (failures) => failures >= 2, 15_000);
    const waiting = await statusOf(server, jobID);
    assert.match(waiting.message, /logs are waiting to be archived/);
    assert.equal((await server.client.delete(`/jobs/${jobID}`)).status, 200, 'the finished job is removed: its pods are deleted');
    const [held] = await eventually(() => podsOf(jobID), (pods) => pods.length === 1 && Boolean(pods[0]!.metadata?.deletionTimestamp));
    assert.ok(holdsFinalizer(held!), 'the deleted pod stays while its log is not archived');
    assert.deepEqual(await keysOf(jobID), []);

    await proxy.up();
    const keys = await untilArchived(jobID, 2);
    assert.equal((await object(keys[0]!)).text, servedLog(MAIN_LOG));
    await untilPodsGone(jobID);
    // The pod can vanish before the controller's patch call returns and counts it.
    assert.equal(await eventually(async () => controller.metrics().archivedPods, (n) => n > 0), 1);
  });

  it('two controllers at once: one leads, and each log is archived exactly once', async () => {
    const first = await startServer();
    const second = await startServer();
    const jobs = [];
    for (let i = 0; i < 4; i++) jobs.push(await submit(i % 2 ? first : second, 'logged'));
    for (const jobID of jobs) await untilArchived(jobID, 2);
    const controllers = [first.services.logArchive!, second.services.logArchive!];
    await eventually(async () => controllers.map((c) => c.metrics()), (m) => m[0]!.archivedPods + m[1]!.archivedPods >= jobs.length);
    const metrics = controllers.map((c) => c.metrics());
    assert.equal(metrics.filter((m) => m.leader).length, 1, 'exactly one leader');
    assert.equal(metrics[0]!.archivedPods + metrics[1]!.archivedPods, jobs.length, 'each pod archived once');
    assert.equal(metrics.find((m) => !m.leader)!.archivedPods, 0, 'the follower archives nothing');
  });

  describe('as its own process (npm run controller)', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'log-controller-'));
      writeFileSync(join(dir, 'server-config.yaml'), archiveConfig(false, 'info'));
    });

    /** Starts dist/src/controller-main.js; resolves once it leads. */
    const startController = async (endpoint = s3.endpoint): Promise<ControllerProcess> => {
      const controller = await startControllerProcess(join(dir, 'server-config.yaml'), cluster.env(bucketEnv(endpoint)));
      stopAfter.push(() => controller.stop());
      return controller;
    };

    it(`archives logs of ${(BIG_LINE.length + 1) * BIG_REPEAT / 1e6} and ${(BIG_LINE.length + 1) * BIGGER_REPEAT / 1e6} MB byte for byte, and its memory does not grow with the log size`, async function () {
      this.timeout(240_000);
      const server = await startServer({ runInServer: false });
      assert.equal(server.services.logArchive, undefined, 'the server runs no controller of its own');
      const controller = await startController();
      const { child } = controller;
      const controllerMetricsUrl = () => controller.metricsUrl();
      assert.equal((await fetch(controllerMetricsUrl().replace(/\/metrics$/, '/healthz'))).status, 200, 'its liveness probe answers');
      const peaks = [memoryMiB(child.pid!, 'VmHWM')];
      for (const [processId, repeat] of [['big-log', BIG_REPEAT], ['bigger-log', BIGGER_REPEAT]] as const) {
        const jobID = await submit(server, processId);
        const [key] = await untilArchived(jobID, 1, 120_000);
        peaks.push(memoryMiB(child.pid!, 'VmHWM'));
        await assertArchivedLog(key!, BIG_LINE, repeat);
      }
      // Run apart, the controller still tells Prometheus what it archived.
      const metrics = parsePrometheusText(await (await fetch(controllerMetricsUrl())).text());
      assert.ok(sumOf(metrics, 'ogcapi_log_archive_uploads_total', 'ogcapi_log_archive_uploads_total') >= 2, 'both logs counted as archived');
      assert.equal(sumOf(metrics, 'ogcapi_log_archive_leader', 'ogcapi_log_archive_leader'), 1);
      const [start, afterBig, afterBigger] = peaks as [number, number, number];
      const extraMiB = ((BIGGER_REPEAT - BIG_REPEAT) * (BIG_LINE.length + 1)) / 2 ** 20;
      console.log(`      controller peak RSS: ${start.toFixed(0)} MiB at start, ${afterBig.toFixed(0)} MiB after the ${((BIG_REPEAT * (BIG_LINE.length + 1)) / 2 ** 20).toFixed(0)} MiB log, ${afterBigger.toFixed(0)} MiB after the ${((BIGGER_REPEAT * (BIG_LINE.length + 1)) / 2 ** 20).toFixed(0)} MiB log`);
      // Holding one whole copy of the larger log would add at least its size; streaming adds a few parts
      // plus what the garbage collector has not yet reclaimed, whatever the size.
      const biggerMiB = (BIGGER_REPEAT * (BIG_LINE.length + 1)) / 2 ** 20;
      assert.ok(afterBigger - start < biggerMiB * 0.67, `peak RSS grew by ${(afterBigger - start).toFixed(0)} MiB while archiving a ${biggerMiB.toFixed(0)} MiB log: the log is being buffered`);
      assert.ok(afterBigger - afterBig < extraMiB / 2, `peak RSS grew by ${(afterBigger - afterBig).toFixed(0)} MiB for a log ${extraMiB.toFixed(0)} MiB larger`);
    });

    /** The stored object is `line` served `repeat` times, compared by hash so the test holds no copy. */
    async function assertArchivedLog(key: string, line: string, repeat: number): Promise<void> {
      const got = await bucket.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
      const served = Buffer.from(servedLog(line));
      const expected = await digestOf((function* () {
        for (let i = 0; i < repeat; i++) yield served;
      })());
      assert.deepEqual(await digestOf(got.Body as Readable), expected, 'the archived log is the served log, byte for byte');
    }

    it('killed in the middle of an archive: the next leader finishes it', async () => {
      const target = new URL(s3.endpoint);
      const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port) });
      await proxy.stall(); // accepts the upload and never answers: the archive hangs mid-flight
      stopAfter.push(() => proxy.down());
      const server = await startServer({ runInServer: false });
      const { child, output } = await startController(proxy.url);
      const jobID = await submit(server, 'logged');
      await untilStatus(server, jobID, 'successful');
      await eventually(async () => proxy.connections, (n) => n > 0, 30_000).catch((error: Error) => {
        throw new Error(`the controller never reached S3: ${error.message}\ncontroller output:\n${output().slice(-3000)}`);
      });
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      assert.ok((await podsOf(jobID)).every(holdsFinalizer), 'the killed controller archived nothing');

      const next = successor();
      next.start();
      stopAfter.push(() => next.stop());
      const keys = await untilArchived(jobID, 2, 45_000);
      assert.equal((await object(keys.find((k) => k.endsWith('/main.log'))!)).text, servedLog(MAIN_LOG));
      await eventually(() => podsOf(jobID), (pods) => pods.every((pod) => !holdsFinalizer(pod)));
      assert.equal(await eventually(async () => next.metrics().archivedPods, (n) => n > 0), 1);
    });

    /** A controller in this process, as another replica would run it. */
    function successor(): LogArchiveController {
      const env = cluster.env(bucketEnv());
      return buildLogArchiveController(
        connectToCluster(env)!,
        {
          bucket: { endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket: s3.bucket, pathPrefix: prefix, region: s3.region },
          runInServer: true,
          leaseDurationSeconds: 3,
          maxRetrySeconds: 1,
          resyncSeconds: 1,
        },
        systemClock,
        createLogger('silent'),
      );
    }
  });
});
