/**
 * Proves that each part of the test environment is real: the job controller, scheduler and kwok run Jobs;
 * kwok serves logs and honours finalizers; leases, RBAC and TokenRequest behave as in a cluster; S3 stores
 * objects. Needs a running environment: `npm run testenv:up`, then OGC_TESTENV_CONNECTION=<printed path>.
 */
import {
  ApiException,
  AuthenticationV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
  type V1Pod,
} from '@kubernetes/client-node';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PodAnnotations } from '../testenv/annotations.js';
import { fakeNodeName } from '../testenv/cluster-objects.js';
import { adminKubeConfig, loadTestEnvironment } from '../testenv/connect.js';
import type { TestEnvironment } from '../testenv/environment.js';
import { s3Client } from '../testenv/s3-server.js';
import { waitFor } from '../testenv/wait.js';
import { createTestNamespace, deleteTestNamespace, jobManifest, podOfJob, unique, waitForJobCondition, waitForPod } from './kube-helpers.js';

const terminated = (pod: V1Pod) => pod.status?.containerStatuses?.[0]?.state?.terminated;

describe('test environment', function () {
  this.timeout(60_000);
  let env: TestEnvironment;
  let kc: KubeConfig;
  let namespace: string;

  before(async function () {
    env = loadTestEnvironment();
    kc = adminKubeConfig(env);
    namespace = await createTestNamespace(kc, 'smoke');
  });

  after(async function () {
    if (kc && namespace) await deleteTestNamespace(kc, namespace);
  });

  describe('Kubernetes Jobs on kwok', function () {
    it('schedules a Job pod onto the kwok node and completes the Job', async function () {
      const name = unique('ok');
      await kc.makeApiClient(BatchV1Api).createNamespacedJob({ namespace, body: jobManifest(name) });
      const job = await waitForJobCondition(kc, namespace, name, ['Complete', 'Failed']);
      const trueConditions = job.status?.conditions?.filter((c) => c.status === 'True').map((c) => c.type);
      assert.ok(trueConditions?.includes('Complete') && !trueConditions.includes('Failed'), `conditions: ${trueConditions}`);
      assert.equal(job.status?.succeeded, 1);
      const pod = await podOfJob(kc, namespace, name);
      assert.equal(pod.spec?.nodeName, fakeNodeName, 'the scheduler bound the pod to the kwok node');
      assert.equal(pod.status?.phase, 'Succeeded');
      assert.equal(terminated(pod)?.exitCode, 0);
    });

    it('fails a Job whose container exits non-zero, with its exit code and termination message', async function () {
      const name = unique('fail');
      const annotations = { [PodAnnotations.exitCode]: '3', [PodAnnotations.terminationMessage]: 'input not found' };
      await kc.makeApiClient(BatchV1Api).createNamespacedJob({ namespace, body: jobManifest(name, annotations) });
      const job = await waitForJobCondition(kc, namespace, name, ['Complete', 'Failed']);
      const failed = job.status?.conditions?.find((c) => c.type === 'Failed');
      assert.equal(failed?.status, 'True');
      assert.equal(failed?.reason, 'BackoffLimitExceeded');
      const pod = await podOfJob(kc, namespace, name);
      assert.equal(pod.status?.phase, 'Failed');
      assert.equal(terminated(pod)?.exitCode, 3);
      assert.equal(terminated(pod)?.message, 'input not found');
    });

    it('returns a termination message from a container that succeeds', async function () {
      const name = unique('result');
      const result = JSON.stringify({ outputs: { answer: 42 } });
      await kc.makeApiClient(BatchV1Api).createNamespacedJob({ namespace, body: jobManifest(name, { [PodAnnotations.terminationMessage]: result }) });
      await waitForJobCondition(kc, namespace, name, ['Complete']);
      const pod = await podOfJob(kc, namespace, name);
      assert.equal(terminated(pod)?.exitCode, 0);
      assert.equal(terminated(pod)?.message, result);
    });

    it('keeps a pod Running for its run-for duration', async function () {
      const name = unique('long');
      await kc.makeApiClient(BatchV1Api).createNamespacedJob({ namespace, body: jobManifest(name, { [PodAnnotations.runFor]: '3s' }) });
      const job = await waitForJobCondition(kc, namespace, name, ['Complete']);
      const pod = await podOfJob(kc, namespace, name);
      const state = terminated(pod);
      assert.ok(state?.startedAt && state.finishedAt);
      const ranForMs = new Date(state.finishedAt).getTime() - new Date(state.startedAt).getTime();
      assert.ok(ranForMs >= 2_000 && ranForMs <= 5_000, `ran for ${ranForMs} ms (timestamps have 1 s resolution)`);
      assert.ok(job.status?.completionTime);
    });

    it('keeps a pod that restarts forever (restartPolicy Always, as a Deployment\'s) running', async function () {
      const name = unique('server');
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespacedPod({ namespace, body: { metadata: { name }, spec: { restartPolicy: 'Always', containers: [{ name: 'main', image: 'example.test/server:1' }] } } });
      await waitForPod(kc, namespace, name, 'running', (p) => p.status?.phase === 'Running');
      await sleep(2_500); // past the 1 s a Job's pod runs for
      assert.equal((await core.readNamespacedPod({ name, namespace })).status?.phase, 'Running');
    });

    it('keeps a pod whose image cannot be pulled Pending with ImagePullBackOff', async function () {
      const name = unique('pull');
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespacedPod({
        namespace,
        body: { metadata: { name }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'example.test/invalid:1' }] } },
      });
      const pod = await waitForPod(kc, namespace, name, 'container waiting', (p) => p.status?.containerStatuses?.[0]?.state?.waiting !== undefined);
      assert.equal(pod.status?.containerStatuses?.[0]?.state?.waiting?.reason, 'ImagePullBackOff');
      await sleep(1_500);
      assert.equal((await core.readNamespacedPod({ name, namespace })).status?.phase, 'Pending', 'the pod never starts');
    });

    it('leaves a pod whose nodeSelector matches no node unschedulable', async function () {
      const name = unique('nowhere');
      await kc.makeApiClient(CoreV1Api).createNamespacedPod({
        namespace,
        body: { metadata: { name }, spec: { nodeSelector: { type: 'no-such-node' }, containers: [{ name: 'main', image: 'example.test/process:1' }] } },
      });
      const pod = await waitForPod(kc, namespace, name, 'PodScheduled=False', (p) =>
        p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False') ?? false,
      );
      assert.equal(pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.reason, 'Unschedulable');
      assert.equal(pod.spec?.nodeName, undefined);
    });
  });

  describe('pod logs', function () {
    it('reads the log configured for a Job pod through the pods/log API', async function () {
      const name = unique('logs');
      const log = 'reading inputs\nprocessing 3 items\ndone';
      await kc.makeApiClient(BatchV1Api).createNamespacedJob({ namespace, body: jobManifest(name, { [PodAnnotations.log]: log }) });
      await waitForJobCondition(kc, namespace, name, ['Complete']);
      const pod = await podOfJob(kc, namespace, name);
      const served = await kc.makeApiClient(CoreV1Api).readNamespacedPodLog({ name: pod.metadata!.name!, namespace, container: 'main' });
      assert.equal(served, `${log}\n`);
    });

    it('serves an empty log for a pod that configured none', async function () {
      const name = unique('silent');
      await kc.makeApiClient(BatchV1Api).createNamespacedJob({ namespace, body: jobManifest(name) });
      await waitForJobCondition(kc, namespace, name, ['Complete']);
      const pod = await podOfJob(kc, namespace, name);
      assert.equal(await kc.makeApiClient(CoreV1Api).readNamespacedPodLog({ name: pod.metadata!.name!, namespace }), '');
    });
  });

  describe('finalizers', function () {
    it('keeps a deleted pod until its finalizer is removed, then deletes it', async function () {
      const core = kc.makeApiClient(CoreV1Api);
      const name = unique('held');
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name, finalizers: ['testenv.ogcapi/hold'], annotations: { [PodAnnotations.runFor]: '1h' } },
          spec: { containers: [{ name: 'main', image: 'example.test/process:1' }] },
        },
      });
      await waitForPod(kc, namespace, name, 'Running', (p) => p.status?.phase === 'Running');
      await core.deleteNamespacedPod({ name, namespace });
      // kwok stops the containers of a deleted pod, as a kubelet would; the finalizer keeps the object
      await waitForPod(kc, namespace, name, 'terminated after delete', (p) => p.status?.phase === 'Failed');
      await sleep(2_000);
      const held = await core.readNamespacedPod({ name, namespace });
      assert.ok(held.metadata?.deletionTimestamp, 'the pod is being deleted');
      assert.deepEqual(held.metadata?.finalizers, ['testenv.ogcapi/hold']);

      await core.patchNamespacedPod(
        { name, namespace, body: [{ op: 'remove', path: '/metadata/finalizers' }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      await waitFor(
        () => core.readNamespacedPod({ name, namespace }).then(
          () => false,
          (error: unknown) => error instanceof ApiException && error.code === 404,
        ),
        { what: `pod ${name} to be gone after its finalizer was removed`, timeoutMs: 15_000, intervalMs: 200 },
      );
    });
  });

  describe('leases', function () {
    // Lease times are MicroTime (6 fractional digits): a plain Date is rejected with 400, V1MicroTime is not.
    it('creates a Lease, renews it, and rejects a renewal based on a stale version', async function () {
      const coordination = kc.makeApiClient(CoordinationV1Api);
      const name = unique('leader');
      const created = await coordination.createNamespacedLease({
        namespace,
        body: { metadata: { name }, spec: { holderIdentity: 'replica-a', leaseDurationSeconds: 15, renewTime: new V1MicroTime() } },
      });
      await sleep(1_100);
      const renewTime = new V1MicroTime();
      const renewed = await coordination.replaceNamespacedLease({
        name,
        namespace,
        body: { ...created, spec: { ...created.spec, renewTime } },
      });
      assert.notEqual(renewed.metadata?.resourceVersion, created.metadata?.resourceVersion);
      const read = await coordination.readNamespacedLease({ name, namespace });
      assert.equal(new Date(read.spec!.renewTime!).getTime(), renewTime.getTime());
      assert.equal(read.spec?.holderIdentity, 'replica-a');
      await assert.rejects(
        coordination.replaceNamespacedLease({ name, namespace, body: { ...created, spec: { ...created.spec, holderIdentity: 'replica-b' } } }),
        (error: unknown) => error instanceof ApiException && error.code === 409,
      );
    });
  });

  describe('RBAC', function () {
    it('refuses a service account without a RoleBinding (403), while its TokenRequest token authenticates', async function () {
      const core = kc.makeApiClient(CoreV1Api);
      const serviceAccount = unique('nobody');
      await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: serviceAccount } } });
      const tokenRequest = await core.createNamespacedServiceAccountToken({
        name: serviceAccount,
        namespace,
        body: { spec: { expirationSeconds: 600, audiences: [] } },
      });
      const token = tokenRequest.status?.token;
      assert.ok(token, 'the TokenRequest API returned a token');

      const cluster = kc.getCurrentCluster()!;
      const asServiceAccount = new KubeConfig();
      asServiceAccount.loadFromOptions({
        clusters: [cluster],
        users: [{ name: serviceAccount, token }],
        contexts: [{ name: 'sa', cluster: cluster.name, user: serviceAccount }],
        currentContext: 'sa',
      });
      const review = await asServiceAccount.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
      assert.equal(review.status?.userInfo?.username, `system:serviceaccount:${namespace}:${serviceAccount}`);
      await assert.rejects(
        asServiceAccount.makeApiClient(CoreV1Api).listNamespacedPod({ namespace }),
        (error: unknown) => error instanceof ApiException && error.code === 403,
      );
    });
  });

  describe('S3', function () {
    it('puts, gets and lists objects', async function () {
      const s3 = s3Client(env.s3);
      const prefix = `${unique('smoke')}/`;
      await s3.send(new PutObjectCommand({ Bucket: env.s3.bucket, Key: `${prefix}a.json`, Body: '{"a":1}', ContentType: 'application/json' }));
      await s3.send(new PutObjectCommand({ Bucket: env.s3.bucket, Key: `${prefix}b.txt`, Body: 'bee' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: env.s3.bucket, Key: `${prefix}a.json` }));
      assert.equal(await got.Body?.transformToString(), '{"a":1}');
      assert.equal(got.ContentType, 'application/json');
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: env.s3.bucket, Prefix: prefix }));
      assert.deepEqual(listed.Contents?.map((o) => o.Key), [`${prefix}a.json`, `${prefix}b.txt`]);
    });

    it('assembles a multipart upload', async function () {
      const s3 = s3Client(env.s3);
      const key = `${unique('multipart')}/result.bin`;
      const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1024)]; // every part but the last needs >= 5 MiB
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: env.s3.bucket, Key: key }));
      const uploaded = [];
      for (const [index, body] of parts.entries()) {
        const { ETag } = await s3.send(new UploadPartCommand({ Bucket: env.s3.bucket, Key: key, UploadId, PartNumber: index + 1, Body: body }));
        uploaded.push({ ETag, PartNumber: index + 1 });
      }
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: env.s3.bucket, Key: key, UploadId, MultipartUpload: { Parts: uploaded } }));
      const got = await s3.send(new GetObjectCommand({ Bucket: env.s3.bucket, Key: key }));
      const bytes = Buffer.from(await got.Body!.transformToByteArray());
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      assert.equal(bytes.length, parts[0]!.length + parts[1]!.length);
      assert.equal(sha(bytes), sha(Buffer.concat(parts)));
    });
  });
});
