import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Job } from '@kubernetes/client-node';
import { apiClient } from '../../src/kubernetes/cluster.js';
import { ANNOTATIONS, LABELS, MANAGED_BY, jobName } from '../../src/kubernetes/labels.js';
import { eventually } from '../support/server.js';
import { API_TOKEN, ClusterFixture, imageProcessesConfig, submitWhileCreationAnswersAreLost } from './support.js';

/** How many sockets this process has open. */
const openSockets = () => readdirSync('/proc/self/fd').filter((fd) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
  } catch {
    return false; // closed meanwhile
  }
}).length;

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The API client returns model class instances; compare their JSON. */
const plain = (job: V1Job): V1Job => JSON.parse(JSON.stringify(job)) as V1Job;

describe('the cluster is the job database (real API server, kwok)', function () {
  this.timeout(120_000);
  const cluster = new ClusterFixture();
  before(() => cluster.setUp('cluster-db'));
  after(() => cluster.tearDown());

  it('stores a Job spec with the env, resources, volumes and security settings the config asked for, and no token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'env-file-'));
    writeFileSync(join(dir, 'tool.env'), 'MODE=fast\n# a comment\nGREETING="hello world"\n');
    const server = await cluster.server(
      imageProcessesConfig(`
  full:
    type: process
    processor:
      name: GenericImageProcessor
      default_image: example.test/full:2
      image_pull_policy: IfNotPresent
      image_pull_secrets: registry-credentials
      command: [python, -m, tool]
      args: [--verbose]
      env:
        - {name: PLAIN, value: 42}
        - {name: FROM_SECRET, secretKeyRef: {name: tool-secret, key: password}}
        - {name: FROM_CONFIG, configMapKeyRef: {name: tool-config, key: level}}
        - {name: PYGEOAPI_STYLE, secret_name: legacy-secret, secret_key: api-key}
      env_from: [{configMapRef: {name: shared-settings}}, {secretRef: {name: shared-secrets}}]
      env_files: [${join(dir, 'tool.env')}]
      resources: {requests: {cpu: 500m, memory: 1Gi}, limits: {memory: 2Gi}}
      gpu: 1
      storage:
        - {name: data, mount_path: /data, persistent_volume_claim_name: tool-data}
        - {name: scratch, mount_path: /scratch, empty_dir: {size_limit: 1Gi}}
        - {name: settings, mount_path: /etc/tool, config_map: tool-config, read_only: true}
      node_selector: {type: kwok}
      tolerations: [{key: gpu, operator: Exists, effect: NoExecute, toleration_seconds: 30}]
      service_account_name: tool-runner
      init_containers: [{name: fetch, image: example.test/fetch:1, args: [--get]}]
      timeout_seconds: 900
      retries: 2
      ttl_seconds_after_finished: 120
      labels: {team: science}
      annotations: {owner: data-team}
      metadata:
        title: Full
        inputs: {name: {schema: {type: string}}, api_key: {minOccurs: 0, schema: {type: string}}}
        outputs: {out: {schema: {type: string}}}
`),
    );
    const res = await server.client.execute('full', { inputs: { token: API_TOKEN, name: 'Ada', api_key: 'k-123' } }, { Prefer: 'respond-async' });
    assert.equal(res.status, 201, res.text);
    const jobID = res.body.jobID as string;
    const job = plain(await cluster.batch.readNamespacedJob({ namespace: cluster.namespace, name: jobName(jobID) }));
    const spec = job.spec!;
    const pod = spec.template.spec!;
    const main = pod.containers[0]!;
    const env = Object.fromEntries((main.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));

    assert.deepEqual(JSON.parse(env.K8S_MANAGER_INPUTS as string), { name: 'Ada', api_key: 'k-123' }, 'inputs injected, token removed');
    assert.equal(env.K8S_MANAGER_JOB_ID, jobID);
    assert.equal(env.K8S_MANAGER_PROCESS_ID, 'full');
    assert.equal(env.PLAIN, '42');
    assert.deepEqual(env.FROM_SECRET, { secretKeyRef: { name: 'tool-secret', key: 'password' } });
    assert.deepEqual(env.FROM_CONFIG, { configMapKeyRef: { name: 'tool-config', key: 'level' } });
    assert.deepEqual(env.PYGEOAPI_STYLE, { secretKeyRef: { name: 'legacy-secret', key: 'api-key' } });
    const envFrom = (main.envFrom ?? []).map((e) => e.configMapRef?.name ?? e.secretRef?.name);
    assert.deepEqual(envFrom.slice(0, 2), ['shared-settings', 'shared-secrets']);
    const envFileMap = await cluster.core.readNamespacedConfigMap({ namespace: cluster.namespace, name: envFrom[2]! });
    assert.deepEqual(envFileMap.data, { MODE: 'fast', GREETING: 'hello world' }, 'the env file became a ConfigMap');

    assert.equal(main.image, 'example.test/full:2');
    assert.equal(main.imagePullPolicy, 'IfNotPresent');
    assert.deepEqual(main.command, ['python', '-m', 'tool']);
    assert.deepEqual(main.args, ['--verbose']);
    assert.deepEqual(main.resources, { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi', 'nvidia.com/gpu': '1' } });
    assert.deepEqual(main.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true });
    assert.equal(main.terminationMessagePolicy, 'FallbackToLogsOnError', 'a failed container without a termination message reports its log tail');
    assert.deepEqual((main.volumeMounts ?? []).map((m) => [m.name, m.mountPath, m.readOnly ?? false]), [['data', '/data', false], ['scratch', '/scratch', false], ['settings', '/etc/tool', true], ['k8s-manager-scratch', '/tmp', false]]);
    assert.deepEqual(pod.volumes?.map((v) => [v.name, v.persistentVolumeClaim?.claimName ?? v.configMap?.name ?? (v.emptyDir ? `emptyDir ${v.emptyDir.sizeLimit ?? 'unbounded'}` : '')]), [['data', 'tool-data'], ['scratch', 'emptyDir 1Gi'], ['settings', 'tool-config'], ['k8s-manager-scratch', 'emptyDir unbounded']]);
    assert.equal(env.HOME, '/tmp', 'HOME is the writable scratch folder');

    assert.equal(pod.restartPolicy, 'Never');
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.serviceAccountName, 'tool-runner');
    assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'registry-credentials' }]);
    assert.deepEqual(pod.nodeSelector, { type: 'kwok' });
    assert.deepEqual(pod.tolerations, [{ key: 'gpu', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }]);
    const init = pod.initContainers![0]!;
    assert.equal(init.image, 'example.test/fetch:1');
    assert.deepEqual((init.env ?? []).map((e) => [e.name, e.value]), [['HOME', '/tmp'], ['K8S_MANAGER_JOB_ID', jobID], ['K8S_MANAGER_PROCESS_ID', 'full']]);
    assert.equal(init.securityContext?.allowPrivilegeEscalation, false);

    assert.equal(spec.activeDeadlineSeconds, 900);
    assert.equal(spec.backoffLimit, 2);
    assert.equal(spec.ttlSecondsAfterFinished, 120);
    const labels = job.metadata!.labels!;
    assert.equal(labels.team, 'science');
    assert.equal(labels[LABELS.managedBy], MANAGED_BY);
    assert.equal(labels[LABELS.jobId], jobID);
    const annotations = job.metadata!.annotations!;
    assert.equal(annotations.owner, 'data-team');
    assert.deepEqual(JSON.parse(annotations[ANNOTATIONS.inputs]!), { name: 'Ada', api_key: '***' }, 'secret-looking inputs masked');
    assert.doesNotMatch(JSON.stringify(job), new RegExp(API_TOKEN), 'the token is nowhere in the Job');
    await server.client.delete(`/jobs/${jobID}`);
  });

  it('applies server-wide defaults: timeout, retention, retries 0, resources, hardened pod', async () => {
    const server = await cluster.server(imageProcessesConfig());
    const res = await server.client.execute('open', { inputs: {} }, { Prefer: 'respond-async' });
    const job = plain(await cluster.batch.readNamespacedJob({ namespace: cluster.namespace, name: jobName(res.body.jobID) }));
    assert.equal(job.spec?.activeDeadlineSeconds, 600);
    assert.equal(job.spec?.ttlSecondsAfterFinished, 3600);
    assert.equal(job.spec?.backoffLimit, 0);
    assert.deepEqual(job.spec?.template.spec?.containers[0]?.resources, { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } });
  });

  it('reports a job correctly after the server restarts in the middle of it', async () => {
    const config = imageProcessesConfig();
    const first = await cluster.server(config);
    const res = await first.client.execute('slow', { inputs: { token: API_TOKEN } }, { Prefer: 'respond-async' });
    const jobID = res.body.jobID as string;
    await eventually(async () => (await first.client.get(`/jobs/${jobID}`)).body.status, (s) => s === 'running');
    await cluster.stopServer(first);

    const second = await cluster.server(config);
    const status = await second.client.get(`/jobs/${jobID}`);
    assert.equal(status.body.status, 'running');
    assert.equal(status.body.jobID, jobID);
    assert.ok(status.body.started);
    const dismissed = await second.client.delete(`/jobs/${jobID}`);
    assert.equal(dismissed.body.status, 'dismissed');
  });

  it('sends concurrent API calls over one shared HTTP/2 connection, not one connection (and TLS handshake) each', async () => {
    const core = apiClient(cluster.kubeConfig, CoreV1Api);
    await core.readNamespace({ name: cluster.namespace }); // opens the connection
    const before = openSockets();
    const concurrently = <T>(call: (i: number) => Promise<T>) => Promise.all(Array.from({ length: 40 }, (_, i) => call(i)));
    await concurrently(() => core.readNamespace({ name: cluster.namespace }));
    // Creations and patches too: undici 7 holds a POST or PATCH back from a busy connection.
    const { namespace } = cluster;
    const created = await concurrently((i) => core.createNamespacedConfigMap({ namespace, body: { metadata: { name: `shared-connection-${i}` }, data: { i: String(i) } } }));
    const patched = await concurrently((i) => core.patchNamespacedConfigMap({ namespace, name: `shared-connection-${i}`, body: { data: { patched: 'yes' } } }, mergePatch));
    await concurrently((i) => core.deleteNamespacedConfigMap({ namespace, name: `shared-connection-${i}` }));
    const opened = openSockets() - before;
    assert.ok(opened <= 2, `160 concurrent calls, 40 at a time, opened ${opened} more sockets`);
    assert.deepEqual(created.map((map) => map.data?.i), Array.from({ length: 40 }, (_, i) => String(i)), 'each call got its own answer');
    assert.ok(patched.every((map) => map.data?.patched === 'yes'));
  });

  it('answers 201 once for each creation whose answer was lost on the way back, and the cluster holds each Job once', async () => {
    const kubeconfig = readFileSync(cluster.kubeconfigPath, 'utf8');
    const apiServer = new URL(/server: (\S+)/.exec(kubeconfig)![1]!).origin;
    await submitWhileCreationAnswersAreLost({
      apiServer,
      jobs: cluster.batch,
      namespace: cluster.namespace,
      processId: 'slow',
      startServer: (proxied) => {
        const path = join(mkdtempSync(join(tmpdir(), 'proxied-')), 'kubeconfig');
        writeFileSync(path, kubeconfig.replace(apiServer, proxied));
        return cluster.server(imageProcessesConfig(), API_TOKEN, { KUBECONFIG: path });
      },
    });
  });

  it('two server instances on the same cluster agree on every job', async () => {
    const config = imageProcessesConfig();
    const [a, b] = [await cluster.server(config), await cluster.server(config)];
    const created: string[] = [];
    for (const processId of ['greeter', 'failing', 'slow']) {
      const res = await a.client.execute(processId, { inputs: { token: API_TOKEN } }, { Prefer: 'respond-async' });
      created.push(res.body.jobID as string);
    }
    await eventually(async () => (await b.client.get(`/jobs/${created[1]}`)).body.status, (s) => s === 'failed');
    const dismissedOnB = await b.client.delete(`/jobs/${created[2]}`);
    assert.equal(dismissedOnB.body.status, 'dismissed');
    const view = async (server: typeof a) => {
      const list = await server.client.get('/jobs?limit=1000');
      return list.body.jobs.map((j: { jobID: string; status: string; processID: string; message: string }) => [j.jobID, j.status, j.processID, j.message]);
    };
    await eventually(async () => [await view(a), await view(b)], ([fromA, fromB]) => JSON.stringify(fromA) === JSON.stringify(fromB) && fromA.length >= 3, 20_000);
    assert.equal((await a.client.get(`/jobs/${created[2]}`)).body.status, 'dismissed', 'a dismissal on one replica is seen by the other');
  });
});
