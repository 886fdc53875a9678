import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { BatchV1Api, CoordinationV1Api, CoreV1Api, RbacAuthorizationV1Api, type V1PolicyRule, type V1Role } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { KubeConfig } from '../../src/kubernetes/client-node.js';
import type { ClusterConnection } from '../../src/kubernetes/cluster.js';
import { LABELS, LOG_FINALIZER } from '../../src/kubernetes/labels.js';
import { ARCHIVER_LEASE } from '../../src/log-archive/controller.js';
import { repoRoot } from '../support/paths.js';
import { eventually, startTestServer, type TestServer } from '../support/server.js';
import { adminKubeConfig, loadTestEnvironment } from '../testenv/connect.js';
import type { TestEnvironment } from '../testenv/environment.js';
import { s3Client } from '../testenv/s3-server.js';
import { API_TOKEN, bucketVariables, imageProcess, releaseLogFinalizers, submitWhileCreationAnswersAreLost } from './support.js';

const run = promisify(execFile);
const manifests = join(repoRoot, 'k8s-manifests');
const namespaceOf = (file: string) => (parse(readFileSync(join(manifests, file), 'utf8')) as { metadata: { namespace: string } }).metadata.namespace;
/** The server's namespace, and the one its Jobs run in (where its Role applies). */
const NAMESPACE = namespaceOf('deployment.yaml');
const JOBS = namespaceOf('role.yaml');
const ACCOUNT = 'ogcapi-k8s-manager';

describe('k8s-manifests: applied to the real API server; the server runs with exactly their permissions', function () {
  this.timeout(120_000);
  let environment: TestEnvironment;
  let admin: KubeConfig;
  let connection: ClusterConnection;
  let bucket: S3Client;
  let role: V1Role;
  let dir: string;
  const prefix = `rbac-${Date.now()}/`;
  const servers: TestServer[] = [];

  const kubectl = (...args: string[]) => run(environment.kubectl, ['--kubeconfig', environment.kubeconfigPath, ...args], { maxBuffer: 16 * 1024 * 1024 });
  const rbac = () => admin.makeApiClient(RbacAuthorizationV1Api);
  const core = () => admin.makeApiClient(CoreV1Api);

  before(async () => {
    environment = loadTestEnvironment();
    admin = adminKubeConfig(environment);
    bucket = s3Client(environment.s3);
    dir = mkdtempSync(join(tmpdir(), 'rbac-'));
    writeFileSync(join(dir, 'tool.env'), 'TOOL_MODE=batch\n');
    // A run before this one against the same environment left the namespaces: start from nothing, as the README.
    for (const namespace of [NAMESPACE, JOBS]) await releaseLogFinalizers(core(), namespace);
    await kubectl('delete', 'namespace', NAMESPACE, JOBS, '--ignore-not-found', '--wait', '--timeout=90s');
  });
  beforeEach(function () {
    if (this.currentTest?.title.startsWith('are accepted')) return;
    if (!connection) throw new Error('the manifests were not applied (see the first test), so the server cannot run as their ServiceAccount');
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop().catch(() => undefined)));
  });
  after(() => bucket?.destroy());

  it('are accepted by the API server: a server-side dry run, then for real (after the namespaces and Secret, as the README does it)', async () => {
    await kubectl('apply', '-f', join(manifests, 'namespace.yaml'));
    await kubectl('-n', NAMESPACE, 'create', 'secret', 'generic', ACCOUNT, '--from-literal=api-token=test', '--from-literal=bucket-key=test', '--from-literal=bucket-secret=test');
    const dryRun = await kubectl('apply', '-k', manifests, '--dry-run=server');
    assert.match(dryRun.stdout, /deployment\.apps\/ogcapi-k8s-manager (created|configured|unchanged) \(server dry run\)/);
    assert.match(dryRun.stdout, /role\.rbac\.authorization\.k8s\.io\/ogcapi-k8s-manager created \(server dry run\)/);
    assert.equal((await core().listNamespacedServiceAccount({ namespace: NAMESPACE })).items.some((a) => a.metadata?.name === ACCOUNT), false, 'a dry run creates nothing');
    await kubectl('apply', '-k', manifests);
    const deployment = JSON.parse((await kubectl('get', 'deployment', ACCOUNT, '-n', NAMESPACE, '-o', 'json')).stdout);
    assert.equal(deployment.spec.replicas, 2);
    const [container] = deployment.spec.template.spec.containers;
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    assert.equal(deployment.spec.template.spec.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.notEqual(JOBS, NAMESPACE, 'jobs run apart from the server');
    assert.equal(deployment.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'K8S_MANAGER_NAMESPACE').value, JOBS);
    const binding = await rbac().readNamespacedRoleBinding({ namespace: JOBS, name: ACCOUNT });
    assert.deepEqual(binding.subjects?.map((s) => `${s.namespace}/${s.name}`), [`${NAMESPACE}/${ACCOUNT}`], 'the server\'s account, bound in the Jobs\' namespace');
    for (const namespace of [NAMESPACE, JOBS]) {
      const labels = (await core().readNamespace({ name: namespace })).metadata?.labels ?? {};
      assert.equal(labels['pod-security.kubernetes.io/enforce'], 'restricted', `${namespace} enforces the restricted Pod Security Standard`);
    }
    const documents = (await kubectl('kustomize', manifests)).stdout.split(/^---$/m).map((text) => parse(text) as { kind: string });
    assert.ok(!documents.some((doc) => doc.kind === 'ClusterRole' || doc.kind === 'ClusterRoleBinding'), 'nothing cluster-wide');
    role = await rbac().readNamespacedRole({ namespace: JOBS, name: ACCOUNT });
    connection = { kubeConfig: await serviceAccountKubeConfig(), namespace: JOBS, source: 'service account token' };
  });

  /** A KubeConfig that authenticates as the manifests' ServiceAccount, with a token from the TokenRequest API. */
  async function serviceAccountKubeConfig(server = admin.getCurrentCluster()!.server): Promise<KubeConfig> {
    await eventually(() => core().readNamespacedServiceAccount({ namespace: NAMESPACE, name: ACCOUNT }).then(() => true, () => false), Boolean);
    const request = await core().createNamespacedServiceAccountToken({ namespace: NAMESPACE, name: ACCOUNT, body: { spec: { expirationSeconds: 3600 } } });
    const cluster = admin.getCurrentCluster()!;
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'testenv', server, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: false }],
      users: [{ name: ACCOUNT, token: request.status!.token }],
      contexts: [{ name: ACCOUNT, cluster: 'testenv', user: ACCOUNT, namespace: JOBS }],
      currentContext: ACCOUNT,
    });
    return kubeConfig;
  }

  const config = `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}
manager:
  local_store: {path: ':memory:'}
  sync_wait_seconds: 20
  kubernetes: {resync_seconds: 1, stuck_grace_seconds: 4}
  finalizer_controller: true
  log_archive: {lease_duration_seconds: 3, max_retry_seconds: 1, resync_seconds: 1}
resources:
${imageProcess('logged', 'example.test/logged:1', { 'testenv.ogcapi/log': 'working\ndone', 'testenv.ogcapi/termination-message': '{"greeting": "hi"}' }, 'env_files: [tool.env]')}
${imageProcess('slow', 'example.test/slow:1', { 'testenv.ogcapi/log': 'working', 'testenv.ogcapi/run-for': '60s' })}
`;

  /** A server authenticated as the ServiceAccount (its config also creates an env-file ConfigMap). */
  const startServer = async (cluster = connection): Promise<TestServer> => {
    const server = await startTestServer({ configYaml: config, dir, env: { K8S_MANAGER_API_TOKEN: API_TOKEN, ...bucketVariables(environment.s3, prefix) }, cluster });
    servers.push(server);
    return server;
  };
  const submit = async (server: TestServer, processId: string) => {
    const res = await server.client.execute(processId, { inputs: { token: API_TOKEN } }, { Prefer: 'respond-async' });
    assert.equal(res.status, 201, res.text);
    return res.body.jobID as string;
  };
  const untilStatus = (server: TestServer, jobID: string, status: string) =>
    eventually(() => server.client.get(`/jobs/${jobID}`).then((r) => r.body as { status: string }), (s) => s.status === status, 30_000);
  const podsOf = async (jobID: string) => (await core().listNamespacedPod({ namespace: JOBS, labelSelector: `${LABELS.jobId}=${jobID}` })).items;
  const archivedKeys = async (jobID: string) => (await bucket.send(new ListObjectsV2Command({ Bucket: environment.s3.bucket, Prefix: `${prefix}${jobID}/` }))).Contents ?? [];
  const leads = (server: TestServer) => eventually(async () => server.services.logArchive!.metrics().leader, Boolean, 15_000);

  it('runs the whole job flow as the ServiceAccount: execute, status, results, logs, log archive, leader lease, dismiss', async () => {
    const server = await startServer();
    assert.equal((await server.client.get('/readyz')).status, 200);
    await leads(server);
    const sync = await server.client.execute('logged', { inputs: { token: API_TOKEN } });
    assert.equal(sync.status, 200, sync.text);
    const jobID = await submit(server, 'logged');
    await untilStatus(server, jobID, 'successful');
    assert.equal((await server.client.get(`/jobs/${jobID}/results`)).text, '"hi"');
    assert.equal((await server.client.get(`/jobs/${jobID}/logs`)).text, 'working\ndone\n');
    await eventually(() => archivedKeys(jobID), (keys) => keys.length === 1);
    await eventually(() => podsOf(jobID), (pods) => pods.every((pod) => !pod.metadata?.finalizers?.includes(LOG_FINALIZER)));
    const lease = await admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: JOBS, name: ARCHIVER_LEASE });
    assert.ok(lease.spec?.holderIdentity, 'the controller holds the lease');
    const running = await submit(server, 'slow');
    await untilStatus(server, running, 'running');
    assert.equal((await server.client.delete(`/jobs/${running}`)).status, 200);
    await eventually(() => podsOf(running), (pods) => pods.length === 0, 30_000);
    assert.equal((await server.client.delete(`/jobs/${jobID}`)).status, 200, 'a finished job is removed');
  });

  it('finds a Job whose creation answer was lost with the verbs the Role grants (it grants no get on Jobs)', async () => {
    await submitWhileCreationAnswersAreLost({
      apiServer: admin.getCurrentCluster()!.server,
      jobs: admin.makeApiClient(BatchV1Api),
      namespace: JOBS,
      processId: 'slow',
      startServer: async (proxied) => startServer({ ...connection, kubeConfig: await serviceAccountKubeConfig(proxied) }),
    });
  });

  // Each verb of each rule, and the part of the product that stops working without it.
  const needs: Array<{ resource: string; verb: string; part: string; fails: (server: () => Promise<TestServer>) => Promise<void> }> = [
    { resource: 'jobs', verb: 'create', part: 'execute', fails: async (server) => expectStatus(await (await server()).client.execute('logged', { inputs: { token: API_TOKEN } }), 502, /forbidden/i) },
    { resource: 'jobs', verb: 'list', part: 'the job cache (readiness)', fails: async (server) => notReady(await server()) },
    { resource: 'jobs', verb: 'watch', part: 'the job cache (readiness)', fails: async (server) => notReady(await server()) },
    { resource: 'jobs', verb: 'patch', part: 'dismissing a running job', fails: async (server) => dismissRunning(await server()) },
    { resource: 'jobs', verb: 'delete', part: 'removing a finished job', fails: async (server) => removeFinished(await server()) },
    { resource: 'pods', verb: 'list', part: 'the pod cache (readiness)', fails: async (server) => notReady(await server()) },
    { resource: 'pods', verb: 'watch', part: 'the pod cache (readiness)', fails: async (server) => notReady(await server()) },
    { resource: 'pods', verb: 'deletecollection', part: 'dismissing a running job', fails: async (server) => dismissRunning(await server()) },
    { resource: 'pods', verb: 'get', part: 'releasing an archived pod', fails: async (server) => archiveFails(await server()) },
    { resource: 'pods', verb: 'patch', part: 'releasing an archived pod', fails: async (server) => archiveFails(await server()) },
    { resource: 'pods/log', verb: 'get', part: 'reading and archiving logs', fails: async (server) => archiveFails(await server(), true) },
    { resource: 'configmaps', verb: 'create', part: 'start-up (env_files)', fails: async (server) => startFails(server, true) },
    { resource: 'configmaps', verb: 'update', part: 'start-up (env_files)', fails: async (server) => startFails(server, false) },
    { resource: 'leases', verb: 'create', part: 'leader election', fails: async (server) => neverLeads(server, true) },
    { resource: 'leases', verb: 'get', part: 'leader election', fails: async (server) => neverLeads(server, false) },
    { resource: 'leases', verb: 'update', part: 'leader election', fails: async (server) => neverLeads(server, false) },
  ];

  it('uses every verb it is granted: each one is used by the code (the list matches the Role)', () => {
    const granted = (role.rules ?? []).flatMap((rule) => rule.resources!.flatMap((resource) => rule.verbs.map((verb) => `${resource}:${verb}`))).sort();
    assert.deepEqual(granted, needs.map((n) => `${n.resource}:${n.verb}`).sort());
  });

  it('grants the server nothing in its own namespace, and its Jobs\' namespace refuses pods that break the restricted standard', async () => {
    for (const [verb, resource] of [['list', 'pods'], ['create', 'jobs'], ['list', 'jobs'], ['get', 'secrets'], ['create', 'leases'], ['create', 'configmaps']] as const) {
      assert.equal(await canI(verb, resource, NAMESPACE), false, `${verb} ${resource} in ${NAMESPACE}`);
    }
    const privileged = { metadata: { name: 'privileged' }, spec: { containers: [{ name: 'main', image: 'example.test/x:1', securityContext: { privileged: true } }] } };
    await assert.rejects(core().createNamespacedPod({ namespace: JOBS, body: privileged, dryRun: 'All' }), (error: { code?: number; body?: string }) => {
      assert.equal(error.code, 403);
      assert.match(JSON.parse(String(error.body)).message, /violates PodSecurity "restricted/);
      return true;
    });
  });

  for (const need of needs) {
    it(`without ${need.verb} on ${need.resource}, ${need.part} fails`, async () => {
      await rbac().replaceNamespacedRole({ namespace: JOBS, name: ACCOUNT, body: { ...role, metadata: { name: ACCOUNT, namespace: JOBS }, rules: without(role.rules ?? [], need.resource, need.verb) } });
      try {
        await eventually(() => canI(need.verb, need.resource), (allowed) => !allowed);
        await need.fails(startServer);
      } finally {
        await rbac().replaceNamespacedRole({ namespace: JOBS, name: ACCOUNT, body: { ...role, metadata: { name: ACCOUNT, namespace: JOBS } } });
        await eventually(() => canI(need.verb, need.resource), Boolean);
      }
    });
  }

  function without(rules: V1PolicyRule[], resource: string, verb: string): V1PolicyRule[] {
    return rules
      .map((rule) => (rule.resources?.includes(resource) ? { ...rule, verbs: rule.verbs.filter((v) => v !== verb) } : rule))
      .filter((rule) => rule.verbs.length > 0);
  }

  /** What the ServiceAccount may do in `namespace`, as the API server's authorizer answers (kubectl auth can-i). */
  async function canI(verb: string, resource: string, namespace = JOBS): Promise<boolean> {
    const [plural, subresource] = resource.split('/');
    const group = plural === 'jobs' ? 'batch' : plural === 'leases' ? 'coordination.k8s.io' : '';
    const target = `${plural}${group ? `.${group}` : ''}${plural === 'leases' ? `/${ARCHIVER_LEASE}` : ''}`;
    const args = ['auth', 'can-i', verb, target, '-n', namespace, `--as=system:serviceaccount:${NAMESPACE}:${ACCOUNT}`, ...(subresource ? [`--subresource=${subresource}`] : [])];
    return kubectl(...args).then(
      () => true,
      () => false,
    );
  }

  function expectStatus(res: { status: number; text: string }, status: number, detail: RegExp): void {
    assert.equal(res.status, status, res.text);
    assert.match(res.text, detail);
  }

  async function notReady(server: TestServer): Promise<void> {
    const res = await eventually(() => server.client.get('/readyz'), (r) => r.status !== 200);
    expectStatus(res, 503, /forbidden/i);
  }

  async function dismissRunning(server: TestServer): Promise<void> {
    const jobID = await submit(server, 'slow');
    await untilStatus(server, jobID, 'running');
    expectStatus(await server.client.delete(`/jobs/${jobID}`), 502, /forbidden/i);
  }

  async function removeFinished(server: TestServer): Promise<void> {
    const jobID = await submit(server, 'logged');
    await untilStatus(server, jobID, 'successful');
    expectStatus(await server.client.delete(`/jobs/${jobID}`), 502, /forbidden/i);
  }

  /** The archive fails and the pod keeps its finalizer; with `logs`, GET /jobs/{id}/logs fails too. */
  async function archiveFails(server: TestServer, logs = false): Promise<void> {
    await leads(server);
    const jobID = await submit(server, 'logged');
    await untilStatus(server, jobID, 'successful');
    await eventually(async () => server.services.logArchive!.metrics().failedAttempts, (n) => n > 0, 15_000);
    assert.ok((await podsOf(jobID)).every((pod) => pod.metadata?.finalizers?.includes(LOG_FINALIZER)), 'the pod keeps its finalizer');
    if (logs) expectStatus(await server.client.get(`/jobs/${jobID}/logs`), 502, /403/);
  }

  async function startFails(server: () => Promise<TestServer>, configMapMissing: boolean): Promise<void> {
    const name = 'ogc-logged-env-0'; // the ConfigMap that process 'logged' makes of its env file
    const exists = await core().readNamespacedConfigMap({ namespace: JOBS, name }).then(() => true, () => false);
    if (configMapMissing && exists) await core().deleteNamespacedConfigMap({ namespace: JOBS, name });
    if (!configMapMissing && !exists) await core().createNamespacedConfigMap({ namespace: JOBS, body: { metadata: { name } } }); // so only update would do
    await assert.rejects(server(), /403|forbidden/i);
  }

  async function neverLeads(server: () => Promise<TestServer>, leaseMissing: boolean): Promise<void> {
    if (leaseMissing) await admin.makeApiClient(CoordinationV1Api).deleteNamespacedLease({ namespace: JOBS, name: ARCHIVER_LEASE }).catch(() => undefined);
    const started = await server();
    await new Promise((resolve) => setTimeout(resolve, 5_000)); // longer than the lease duration
    assert.equal(started.services.logArchive!.metrics().leader, false);
  }
});
