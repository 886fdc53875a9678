import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Watch, type V1Pod } from '@kubernetes/client-node';
import { LABELS, LOG_FINALIZER } from '../../src/kubernetes/labels.js';
import { memoryMiB } from '../support/process-stats.js';
import { eventually, type TestServer } from '../support/server.js';
import { loadTestEnvironment } from '../testenv/connect.js';
import { realNodeProcess, type RealNodeConnection } from '../testenv/real-node.js';
import { s3Client, type S3Connection } from '../testenv/s3-server.js';
import { API_TOKEN, bucketVariables, ClusterFixture, type ControllerProcess, digestOf, realNodeOrSkip, startControllerProcess } from './support.js';

const run = promisify(execFile);

/** The big log: numbered lines of 1,000 bytes, at least 1 GiB in all, written by the container with awk. */
const LINE_BYTES = 1000;
const BIG_LOG_LINES = Math.ceil(2 ** 30 / LINE_BYTES);
const PADDING = 'x'.repeat(LINE_BYTES - 12);
const bigLogLine = (i: number) => `${String(i).padStart(10, '0')} ${PADDING}\n`;

describe('GenericImageProcessor on real containers (real kubelet and containerd, restricted Pod Security)', function () {
  this.timeout(90_000);
  const cluster = new ClusterFixture();
  let node: RealNodeConnection;
  let server: TestServer;
  let controller: ControllerProcess;
  let s3: S3Connection;
  let bucket: S3Client;
  let prefix: string;

  /** One image process on the real node, with small resources unless it gives its own. */
  const realProcess = (id: string, script: string, options: { extra?: string; outputs?: string; resources?: string; image?: string } = {}) =>
    realNodeProcess(node, id, script, {
      ...(options.image ? { image: options.image } : {}),
      options: [`resources: ${options.resources ?? '{requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 64Mi}}'}`, ...(options.extra ? [options.extra] : [])],
      metadata: `{title: ${id}, inputs: {name: {minOccurs: 0, schema: {type: string}}}, outputs: ${options.outputs ?? '{greeting: {schema: {type: string}}}'}}`,
    });

  const processes = () => [
    realProcess('hello', `echo "hello from a real container"; printf '{"greeting": "hello", "inputs": %s}' "$K8S_MANAGER_INPUTS" > /dev/termination-log`, {
      outputs: '{greeting: {schema: {type: string}}, inputs: {schema: {type: object}}}',
    }),
    realProcess(
      'inspect',
      [
        'env',
        `status() { awk -v f="$1:" '$1 == f { print $2 }' /proc/self/status; }`,
        'if touch /probe 2>/dev/null; then root=true; else root=false; fi',
        'if touch /tmp/probe 2>/dev/null; then scratch=true; else scratch=false; fi',
        `printf '{"report": {"uid": %s, "gid": %s, "capEff": "%s", "noNewPrivs": %s, "seccomp": %s, "rootWritable": %s, "scratchWritable": %s, "home": "%s"}}' "$(id -u)" "$(id -g)" "$(status CapEff)" "$(status NoNewPrivs)" "$(status Seccomp)" $root $scratch "$HOME" > /dev/termination-log`,
      ].join('\n'),
      { outputs: '{report: {schema: {type: object}}}' },
    ),
    realProcess('exit-code', 'echo "step 1: reading the inputs"; echo "step 2: checking them"; echo "error: the input was wrong" >&2; exit 3'),
    realProcess('out-of-memory', 'echo "allocating 100 MB"; exec dd if=/dev/zero of=/dev/null bs=100M count=1', { resources: '{requests: {memory: 20Mi}, limits: {memory: 20Mi}}' }),
    realProcess('deadline', `trap 'echo "stopping on SIGTERM"; exit 143' TERM; echo "sleeping"; sleep 60 & wait`, { extra: 'timeout_seconds: 2' }),
    realProcess('absent-image', 'true', { image: 'localhost/testenv/absent:1' }),
    realProcess('ticker', `trap 'echo "stopping on SIGTERM"; exit 143' TERM; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done`),
    realProcess('runs-as-root', 'id -u', { extra: 'security_context: {runAsNonRoot: false, runAsUser: 0, seccompProfile: {type: RuntimeDefault}}' }),
    realProcess('big-log', `awk -v n=${BIG_LOG_LINES} -v pad=${PADDING} 'BEGIN { for (i = 0; i < n; i++) printf "%010d %s\\n", i, pad }'`, { extra: 'timeout_seconds: 600' }),
  ];

  before(async function () {
    node = realNodeOrSkip(this);
    await cluster.setUp('real-containers', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    s3 = loadTestEnvironment().s3;
    bucket = s3Client(s3);
    prefix = `real-${cluster.namespace}/`;
    const config = `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}
manager:
  local_store: {path: ':memory:'}
  sync_wait_seconds: 60
  kubernetes: {stuck_grace_seconds: 4, resync_seconds: 1, default_timeout_seconds: 600, default_ttl_seconds_after_finished: 3600}
  finalizer_controller: true
  log_archive: {run_in_server: false, lease_duration_seconds: 3, max_retry_seconds: 1, resync_seconds: 1}
resources:
${processes().join('\n')}
`;
    const dir = mkdtempSync(join(tmpdir(), 'real-containers-'));
    writeFileSync(join(dir, 'server-config.yaml'), config.replace('level: silent', 'level: info'));
    server = await cluster.server(config, API_TOKEN, bucketVariables(s3, prefix));
    controller = await startControllerProcess(join(dir, 'server-config.yaml'), cluster.env(bucketVariables(s3, prefix)));
  });
  after(async () => {
    await controller?.stop();
    bucket?.destroy();
    await cluster.tearDown();
  });

  type Status = { status: string; message: string };
  const submit = async (processId: string, inputs: Record<string, unknown> = {}) => {
    const res = await server.client.execute(processId, { inputs: { token: API_TOKEN, ...inputs } }, { Prefer: 'respond-async' });
    assert.equal(res.status, 201, res.text);
    return res.body.jobID as string;
  };
  const until = (jobID: string, status: string, timeoutMs = 60_000) =>
    eventually(async () => (await server.client.get(`/jobs/${jobID}`)).body as Status, (s) => s.status === status || ['successful', 'failed', 'dismissed'].includes(s.status), timeoutMs).then((s) => {
      assert.equal(s.status, status, s.message);
      return s;
    });
  const keysOf = async (jobID: string) => ((await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}${jobID}/` }))).Contents ?? []).map((o) => o.Key!);
  const archivedLog = async (jobID: string, timeoutMs = 30_000) => {
    const [key] = await eventually(() => keysOf(jobID), (keys) => keys.length > 0, timeoutMs);
    return bucket.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  };

  it('runs an image that writes to stdout and exits 0: successful, with the results it wrote and its log', async () => {
    const sync = await server.client.execute('hello', { inputs: { token: API_TOKEN, name: 'Ada' }, response: 'document' });
    assert.equal(sync.status, 200, sync.text);
    assert.deepEqual(sync.body.greeting, 'hello');
    assert.deepEqual(sync.body.inputs.value, { name: 'Ada' }, 'the inputs arrived in K8S_MANAGER_INPUTS, without the token');
    const jobID = await submit('hello');
    await until(jobID, 'successful');
    assert.equal((await server.client.get(`/jobs/${jobID}/logs`)).text, 'hello from a real container\n');
    const [pod] = await cluster.podsOfJob(jobID);
    assert.equal(pod!.spec!.nodeName, node.name, 'the pod ran on the real node');
    assert.match(pod!.status!.containerStatuses![0]!.containerID!, /^containerd:\/\//, 'a real container ran it');
  });

  it('runs under the restricted Pod Security Standard the namespace enforces: non-root, no capabilities, seccomp, read-only root, writable scratch', async () => {
    const res = await server.client.execute('inspect', { inputs: { token: API_TOKEN } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { uid: 1000, gid: 1000, capEff: '0000000000000000', noNewPrivs: 1, seccomp: 2, rootWritable: false, scratchWritable: true, home: '/tmp' });
    const namespace = await cluster.core.readNamespace({ name: cluster.namespace });
    assert.equal(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
  });

  it('fails at once a job whose process asks for what the namespace\'s Pod Security level refuses, naming it', async () => {
    const jobID = await submit('runs-as-root');
    const status = await until(jobID, 'failed', 15_000);
    assert.match(status.message, /Pod Security admission refuses its pods.*restricted.*runAsNonRoot != true/);
    assert.deepEqual(await cluster.podsOfJob(jobID), [], 'no pod was admitted');
  });

  it('keeps the token out of the pod: not in its environment, its spec, its Job or its log', async () => {
    const jobID = await submit('inspect', { name: 'Grace' });
    await until(jobID, 'successful');
    const log = (await server.client.get(`/jobs/${jobID}/logs`)).text;
    assert.match(log, /K8S_MANAGER_INPUTS=\{"name":"Grace"\}/, 'the log is the container environment');
    assert.doesNotMatch(log, new RegExp(API_TOKEN));
    const [pod] = await cluster.podsOfJob(jobID);
    assert.doesNotMatch(JSON.stringify(pod), new RegExp(API_TOKEN));
    assert.doesNotMatch(JSON.stringify(await cluster.jobOf(jobID)), new RegExp(API_TOKEN));
    const archived = await (await archivedLog(jobID)).Body!.transformToString();
    assert.equal(archived, log, 'the archive holds the same log');
  });

  it('fails a job whose container exits with code N, naming the code and the last lines of its log', async () => {
    const jobID = await submit('exit-code');
    const status = await until(jobID, 'failed');
    assert.match(status.message, /exited with code 3 \(Error\)/);
    // stdout and stderr reach the log through two pipes: their lines keep their order within each stream only
    assert.match(status.message, /step 1: reading the inputs\n(?:.*\n)?step 2: checking them/, `the tail of the log (a stderr line may fall between): ${status.message}`);
    assert.match(status.message, /error: the input was wrong/, 'stderr too');
  });

  it('fails a job whose container runs out of memory, saying so', async () => {
    const jobID = await submit('out-of-memory');
    const status = await until(jobID, 'failed');
    assert.match(status.message, /ran out of memory.*OOMKilled, exit code 137/);
  });

  it('fails a job that outlives its deadline, saying so, and its container is stopped', async () => {
    const jobID = await submit('deadline');
    const containerID = await runningContainer(jobID);
    const status = await until(jobID, 'failed');
    assert.match(status.message, /Timed out: the job ran longer than its limit of 2 s/);
    await eventually(() => runningTasks(), (tasks) => !tasks.includes(containerID), 30_000);
  });

  it('reports an image that is not present while it waits, then fails the job after the grace period', async () => {
    const jobID = await submit('absent-image');
    const waiting = await eventually(async () => (await server.client.get(`/jobs/${jobID}`)).body as Status, (s) => /Waiting: (ErrImagePull|ImagePullBackOff)/.test(s.message ?? ''), 30_000);
    assert.equal(waiting.status, 'accepted');
    assert.match(waiting.message, /localhost\/testenv\/absent:1/);
    const failed = await until(jobID, 'failed', 30_000);
    assert.match(failed.message, /ErrImagePull|ImagePullBackOff/);
  });

  it('dismisses a running job: its container really stops', async () => {
    const jobID = await submit('ticker');
    const containerID = await runningContainer(jobID);
    await eventually(async () => (await server.client.get(`/jobs/${jobID}/logs`)).text, (log) => log.includes('tick 3'));
    assert.equal((await server.client.delete(`/jobs/${jobID}`)).status, 200);
    await eventually(() => runningTasks(), (tasks) => !tasks.includes(containerID), 30_000);
    const archived = await (await archivedLog(jobID)).Body!.transformToString();
    assert.match(archived, /tick 3\n(.|\n)*stopping on SIGTERM\n$/, 'the container got SIGTERM and its last words were archived');
    await eventually(() => cluster.podsOfJob(jobID), (pods) => pods.length === 0, 30_000);
    assert.equal(((await server.client.get(`/jobs/${jobID}`)).body as Status).status, 'dismissed');
  });

  /** Once the job runs: the id of its main container, which containerd then runs. */
  async function runningContainer(jobID: string): Promise<string> {
    await until(jobID, 'running');
    const [pod] = await cluster.podsOfJob(jobID);
    const containerID = pod!.status!.containerStatuses![0]!.containerID!.replace('containerd://', '');
    assert.ok((await runningTasks()).includes(containerID), 'containerd runs the container');
    return containerID;
  }

  /** The ids of the containers containerd runs now (its tasks in state RUNNING). */
  async function runningTasks(): Promise<string[]> {
    const { stdout } = await run('ctr', ['--address', node.containerdSocket, '--namespace', 'k8s.io', 'tasks', 'ls']);
    return stdout.split('\n').filter((line) => /\bRUNNING\b/.test(line)).map((line) => line.split(/\s+/)[0]!);
  }

  it('archives small logs soon after their pods end (prints the time from pod end to archived log)', async () => {
    const ended = new Map<string, number>();
    const delays = new Map<string, number>();
    const earlier = new Set((await cluster.core.listNamespacedPod({ namespace: cluster.namespace })).items.map((pod) => pod.metadata!.name!));
    const watch = await new Watch(cluster.kubeConfig).watch(`/api/v1/namespaces/${cluster.namespace}/pods`, { labelSelector: `${LABELS.processId}=hello` }, (_type, pod: V1Pod) => {
      const name = pod.metadata!.name!;
      if (earlier.has(name)) return; // only pods seen from their start
      if (['Succeeded', 'Failed'].includes(pod.status?.phase ?? '') && !ended.has(name)) ended.set(name, Date.now());
      if (ended.has(name) && !delays.has(name) && !pod.metadata?.finalizers?.includes(LOG_FINALIZER)) delays.set(name, Date.now() - ended.get(name)!);
    }, () => undefined);
    try {
      for (let i = 0; i < 8; i++) await until(await submit('hello'), 'successful');
      await eventually(async () => delays.size, (n) => n >= 8, 30_000);
    } finally {
      watch.abort();
    }
    const sorted = [...delays.values()].sort((a, b) => a - b);
    const p50 = sorted[Math.floor(sorted.length / 2)]!;
    console.log(`      pod end → log archived (finalizer released), ${sorted.length} pods: p50 ${p50} ms, max ${sorted.at(-1)} ms (goal: p50 ≤ 1,000 ms)`);
  });

  it('archives a log of over 1 GiB that the container wrote, byte for byte, and the controller\'s memory stays flat (prints its growth)', async function () {
    this.timeout(900_000);
    writeFileSync(`/proc/${controller.child.pid}/clear_refs`, '5'); // the peak (VmHWM) restarts from now
    const before = memoryMiB(controller.child.pid!, 'VmRSS');
    const began = Date.now();
    const jobID = await submit('big-log');
    await until(jobID, 'successful', 300_000);
    const written = Date.now();
    const got = await archivedLog(jobID, 600_000);
    await eventually(() => cluster.podsOfJob(jobID), (pods) => pods.every((pod) => !pod.metadata?.finalizers?.includes(LOG_FINALIZER)), 600_000);
    const archived = Date.now();
    const peak = memoryMiB(controller.child.pid!, 'VmHWM');
    const { size, sha256 } = await digestOf(got.Body as Readable);
    const expected = await digestOf((function* () {
      for (let i = 0; i < BIG_LOG_LINES; i++) yield bigLogLine(i);
    })());
    assert.deepEqual({ size, sha256 }, expected, 'the archived log is what the container wrote, byte for byte');
    const growth = peak - before;
    console.log(`      ${(size / 2 ** 30).toFixed(2)} GiB log: written in ${((written - began) / 1000).toFixed(0)} s, archived ${((archived - written) / 1000).toFixed(0)} s later; controller RSS ${before.toFixed(0)} MiB before, peak ${peak.toFixed(0)} MiB: growth ${growth.toFixed(0)} MiB (goal ≤ 64 MiB)`);
    assert.ok(growth < 128, `the controller grew by ${growth.toFixed(0)} MiB while archiving a ${(size / 2 ** 20).toFixed(0)} MiB log: it is buffering the log`);
  });
});
