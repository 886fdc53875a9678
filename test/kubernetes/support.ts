import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { BatchV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import type { Clock } from '../../src/clock.js';
import { connectToCluster } from '../../src/kubernetes/cluster.js';
import { LABELS, LOG_FINALIZER } from '../../src/kubernetes/labels.js';
import { createTestNamespace, deleteTestNamespace } from '../smoke/kube-helpers.js';
import { repoRoot } from '../support/paths.js';
import { eventually, startTestServer, type TestServer } from '../support/server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { adminKubeConfig, loadTestEnvironment } from '../testenv/connect.js';
import type { RealNodeConnection } from '../testenv/real-node.js';
import type { S3Connection } from '../testenv/s3-server.js';

export const API_TOKEN = 'test-token-7f3a9c';

/**
 * Removes the log finalizer from the namespace's pods: a test stopped before the controller archived
 * them leaves no one to release them, and they would keep the namespace from being deleted.
 */
export async function releaseLogFinalizers(core: CoreV1Api, namespace: string): Promise<void> {
  for (const pod of (await core.listNamespacedPod({ namespace })).items) {
    const finalizers = pod.metadata?.finalizers ?? [];
    if (!finalizers.includes(LOG_FINALIZER)) continue;
    await core
      .patchNamespacedPod({ namespace, name: pod.metadata!.name!, body: { metadata: { finalizers: finalizers.filter((f) => f !== LOG_FINALIZER) } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
      .catch(() => undefined);
  }
}

/** A namespace of the test cluster for one suite, and servers that run their image jobs there. */
export class ClusterFixture {
  kubeConfig!: KubeConfig;
  kubeconfigPath = '';
  namespace = '';
  private readonly servers: TestServer[] = [];

  /** Connects to the running test environment (a clear error if there is none) and makes a namespace with `labels`. */
  async setUp(prefix: string, labels: Record<string, string> = {}): Promise<void> {
    const environment = loadTestEnvironment();
    this.kubeconfigPath = environment.kubeconfigPath;
    this.kubeConfig = adminKubeConfig(environment);
    this.namespace = await createTestNamespace(this.kubeConfig, prefix, labels);
  }

  async tearDown(): Promise<void> {
    if (!this.namespace) return;
    await Promise.all(this.servers.map((server) => server.stop().catch(() => undefined)));
    await releaseLogFinalizers(this.core, this.namespace);
    await deleteTestNamespace(this.kubeConfig, this.namespace);
  }

  /** The environment a server (or controller) of this namespace runs with, plus `extra`. */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { KUBECONFIG: this.kubeconfigPath, K8S_MANAGER_NAMESPACE: this.namespace, ...extra };
  }

  /** A server whose image processes run in this namespace; `token` is its K8S_MANAGER_API_TOKEN (null: none). */
  async server(configYaml: string, token: string | null = API_TOKEN, extraEnv: NodeJS.ProcessEnv = {}, clock?: Clock): Promise<TestServer> {
    const env = this.env({ ...(token ? { K8S_MANAGER_API_TOKEN: token } : {}), ...extraEnv });
    const server = await startTestServer({ configYaml, env, cluster: connectToCluster(env)!, ...(clock ? { clock } : {}) });
    this.servers.push(server);
    return server;
  }

  async stopServer(server: TestServer): Promise<void> {
    await server.stop();
    this.servers.splice(this.servers.indexOf(server), 1);
  }

  get batch(): BatchV1Api {
    return this.kubeConfig.makeApiClient(BatchV1Api);
  }

  get core(): CoreV1Api {
    return this.kubeConfig.makeApiClient(CoreV1Api);
  }

  async jobsInNamespace(): Promise<V1Job[]> {
    return (await this.batch.listNamespacedJob({ namespace: this.namespace })).items;
  }

  async podsOfJob(jobID: string) {
    return (await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `${LABELS.jobId}=${jobID}` })).items;
  }

  async jobOf(jobID: string): Promise<V1Job | undefined> {
    return (await this.batch.listNamespacedJob({ namespace: this.namespace, labelSelector: `${LABELS.jobId}=${jobID}` })).items[0];
  }
}

/** server-config.yaml for the suites: image processes whose pods the kwok stages steer by annotation. */
export function imageProcessesConfig(extra = ''): string {
  const process = (id: string, options: string, outputs = '{greeting: {schema: {type: string, contentMediaType: text/plain}}}') => `
  ${id}:
    type: process
    processor:
      name: GenericImageProcessor
${options
  .trim()
  .split('\n')
  .map((line) => `      ${line}`)
  .join('\n')}
      metadata:
        title: ${id}
        inputs: {name: {minOccurs: 0, schema: {type: string}}, pause: {minOccurs: 0, schema: {type: integer}}, blob: {minOccurs: 0, schema: {type: string}}}
        outputs: ${outputs}`;
  return `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}
manager:
  local_store: {path: ':memory:'}
  sync_wait_seconds: 20
  kubernetes: {stuck_grace_seconds: 4, resync_seconds: 1, max_inputs_bytes: 2048, default_timeout_seconds: 600, default_ttl_seconds_after_finished: 3600}
resources:
${process('greeter', `image: example.test/greeter:1\nannotations: {testenv.ogcapi/termination-message: '{"greeting": "hello from the pod"}'}`)}
${process('two-outputs', `image: example.test/greeter:1\nannotations: {testenv.ogcapi/termination-message: '{"greeting": "hi", "count": 2}'}`, '{greeting: {schema: {type: string, contentMediaType: text/plain}}, count: {schema: {type: integer}}}')}
${process('unreadable', `image: example.test/greeter:1\nannotations: {testenv.ogcapi/termination-message: 'not json'}`)}
${process('failing', `image: example.test/failing:1\nannotations: {testenv.ogcapi/exit-code: '3', testenv.ogcapi/termination-message: 'boom: the input was wrong'}`)}
${process('slow', `image: example.test/slow:1\nannotations: {testenv.ogcapi/run-for: '60s'}`)}
${process('deadline', `image: example.test/slow:1\ntimeout_seconds: 2\nannotations: {testenv.ogcapi/run-for: '60s'}`)}
${process('bad-image', `image: example.test/invalid-image:1`)}
${process('nowhere', `image: example.test/greeter:1\nnode_selector: {pool: does-not-exist}`)}
${process('open', `image: example.test/greeter:1\ncheck_auth: false\nannotations: {testenv.ogcapi/termination-message: '{"greeting": "open"}'}`)}
${process('rejected', `image: example.test/greeter:1\ntolerations: [{key: x, operator: Exists, effect: NoSchedule, tolerationSeconds: 5}]`)}
${extra}`;
}

/** One GenericImageProcessor process whose pods the kwok stages steer by `annotations`. */
export function imageProcess(id: string, image: string, annotations: Record<string, string>, extra = ''): string {
  return `  ${id}:
    type: process
    processor:
      name: GenericImageProcessor
      image: ${image}
      annotations: ${JSON.stringify(annotations)}
      metadata: {title: ${id}, inputs: {}, outputs: {greeting: {schema: {type: string}}}}
      ${extra}`;
}

/** The K8S_MANAGER_FINALIZER_BUCKET_* variables for the test environment's S3 server. */
export function bucketVariables(s3: S3Connection, prefix: string, endpoint = s3.endpoint): NodeJS.ProcessEnv {
  return {
    K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT: endpoint,
    K8S_MANAGER_FINALIZER_BUCKET_KEY: s3.accessKeyId,
    K8S_MANAGER_FINALIZER_BUCKET_SECRET: s3.secretAccessKey,
    K8S_MANAGER_FINALIZER_BUCKET_NAME: s3.bucket,
    K8S_MANAGER_FINALIZER_BUCKET_PATH_PREFIX: prefix,
    K8S_MANAGER_FINALIZER_BUCKET_REGION: s3.region,
  };
}

/**
 * Three async submissions whose Job creations reach the API server while their answers are lost
 * (the connection closes before they come back). The server re-sends each creation and must find
 * its Job: every answer is 201 and the cluster holds each Job once. `startServer` gets the API
 * server's origin behind the proxy that loses the answers; `jobs` lists as an admin.
 */
export async function submitWhileCreationAnswersAreLost(options: {
  apiServer: string;
  jobs: BatchV1Api;
  namespace: string;
  processId: string;
  startServer: (proxiedApiServer: string) => Promise<TestServer>;
}): Promise<void> {
  const { apiServer, jobs, namespace, processId } = options;
  const target = new URL(apiServer);
  const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port) });
  await proxy.up();
  try {
    const server = await options.startServer(`https://127.0.0.1:${proxy.port}`);
    const jobsOfProcess = async () => (await jobs.listNamespacedJob({ namespace, labelSelector: `${LABELS.processId}=${processId}` })).items;
    const before = (await jobsOfProcess()).length;
    proxy.holdAnswers();
    const submissions = Array.from({ length: 3 }, () => server.client.execute(processId, { inputs: { token: API_TOKEN } }, { Prefer: 'respond-async' }));
    await eventually(async () => (await jobsOfProcess()).length, (count) => count === before + 3);
    proxy.cut();
    const answers = await Promise.all(submissions);
    assert.deepEqual(answers.map((answer) => answer.status), [201, 201, 201], answers.map((answer) => answer.text).join('\n'));
    const stored = await jobsOfProcess();
    assert.equal(stored.length, before + 3, 'no Job was created twice');
    for (const answer of answers) {
      assert.equal(stored.filter((job) => job.metadata?.labels?.[LABELS.jobId] === answer.body.jobID).length, 1, `job ${answer.body.jobID} has one Job`);
      assert.equal((await server.client.get(`/jobs/${answer.body.jobID}`)).status, 200);
    }
  } finally {
    await proxy.down();
  }
}

/** A program of the server's run as its own process: the log finalizer controller (`npm run controller`) or the queue intake (`npm run intake`). */
export interface ControllerProcess {
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** Where it serves /metrics, as it logged it (at log level info or finer). */
  metricsUrl(): string;
  stop(): Promise<void>;
}

/** Starts the controller with the config file and environment given; resolves once it leads. */
export function startControllerProcess(configFile: string, env: NodeJS.ProcessEnv): Promise<ControllerProcess> {
  return startProgramProcess('controller-main.js', 'became the leader', configFile, env);
}

/** Starts the queue intake alone; resolves once it consumes its queues. */
export function startIntakeProcess(configFile: string, env: NodeJS.ProcessEnv): Promise<ControllerProcess> {
  return startProgramProcess('intake-main.js', 'taking execute requests from the queue', configFile, env);
}

async function startProgramProcess(program: string, readyLine: string, configFile: string, env: NodeJS.ProcessEnv): Promise<ControllerProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'src', program), '--config', configFile], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const controller: ControllerProcess = {
    child,
    output: () => output,
    metricsUrl: () => {
      const url = /"url":"([^"]+\/metrics)"/.exec(output)?.[1];
      if (!url) throw new Error(`${program} logged no /metrics address: ${output}`);
      return url;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  try {
    await eventually(async () => output, (text) => text.includes(readyLine) || child.exitCode !== null, 20_000);
    assert.equal(child.exitCode, null, `${program} exited: ${output}`);
  } catch (error) {
    await controller.stop();
    throw error;
  }
  return controller;
}

/** The size and SHA-256 of a stream of chunks: large logs are compared without holding a copy. */
export async function digestOf(chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    size += Buffer.byteLength(chunk);
  }
  return { size, sha256: hash.digest('hex') };
}

/** The real node, or a loud skip outside CI (in CI the environment refuses to start without it). */
export function realNodeOrSkip(context: Mocha.Context): RealNodeConnection {
  const environment = loadTestEnvironment();
  if (environment.realNode) return environment.realNode;
  const what = `no real node in this test environment (missing: ${environment.realNodeMissing?.join('; ') ?? 'unknown'})`;
  if (process.env.CI) throw new Error(what);
  console.log(`\n      SKIPPED, ${what}\n`);
  context.skip();
}

