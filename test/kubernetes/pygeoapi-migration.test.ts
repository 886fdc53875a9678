import assert from 'node:assert/strict';
import { withLegacyEnv } from '../../src/config/legacy-env.js';
import { connectToCluster } from '../../src/kubernetes/cluster.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ClusterFixture } from './support.js';

const TOKEN = 'pygeoapi-era-token-51c2';

/** A processor block the way pygeoapi-k8s-manager's configuration writes it. */
const PYGEOAPI_PROCESSOR = `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}
manager:
  local_store: {path: ':memory:'}
  finalizer_controller: false
resources:
  hello-world-k8s:
    type: process
    processor:
      name: pygeoapi_kubernetes_manager.process.generic_image.GenericImageProcessor
      default_image: example.test/greeter:1
      command: [sh, -c, 'echo "Hello $PYGEOAPI_K8S_MANAGER_INPUTS"']
      image_pull_secrets: registry-credentials
      check_auth: true
      pygeoapi_env: true
      storage:
        - name: scratch-data
          mount_path: /data
          empty_dir: {size_limit: 1Gi}
      metadata:
        id: hello-world-k8s
        version: 0.1.0
        title: Hello World K8s
        jobControlOptions: [async-execute]
        inputs:
          name: {title: Name, schema: {type: string}, minOccurs: 1, maxOccurs: 1}
        outputs:
          greeting: {title: Greeting, schema: {type: string}}
`;

describe('moving from pygeoapi-k8s-manager: its processor config and environment names, unchanged', function () {
  this.timeout(60_000);
  const cluster = new ClusterFixture();
  let server: TestServer;
  let notices: string[];

  before(async () => {
    await cluster.setUp('pygeoapi');
    const { KUBECONFIG } = cluster.env();
    const legacy = withLegacyEnv({ KUBECONFIG, PYGEOAPI_K8S_MANAGER_NAMESPACE: cluster.namespace, PYGEOAPI_K8S_MANAGER_API_TOKEN: TOKEN });
    notices = legacy.notices;
    server = await startTestServer({ configYaml: PYGEOAPI_PROCESSOR, env: legacy.env, cluster: connectToCluster(legacy.env)! });
  });
  after(async () => {
    await server?.stop();
    await cluster.tearDown();
  });

  it('runs the process in the namespace and with the token its PYGEOAPI_K8S_MANAGER_* variables name, saying they are deprecated', async () => {
    assert.deepEqual(notices, [
      'PYGEOAPI_K8S_MANAGER_API_TOKEN is deprecated: set K8S_MANAGER_API_TOKEN instead',
      'PYGEOAPI_K8S_MANAGER_NAMESPACE is deprecated: set K8S_MANAGER_NAMESPACE instead',
    ]);
    const description = (await server.client.get('/processes/hello-world-k8s')).body;
    assert.equal(description.title, 'Hello World K8s');
    assert.equal((await server.client.execute('hello-world-k8s', { inputs: { name: 'Ada', token: 'wrong' } }, { Prefer: 'respond-async' })).status, 401);
    const res = await server.client.execute('hello-world-k8s', { inputs: { name: 'Ada', token: TOKEN } }, { Prefer: 'respond-async' });
    assert.equal(res.status, 201, res.text);
    const job = await cluster.jobOf(res.body.jobID);
    assert.ok(job, 'the Job is in the namespace PYGEOAPI_K8S_MANAGER_NAMESPACE names');
    const pod = job.spec!.template.spec!;
    const env = Object.fromEntries(pod.containers[0]!.env!.map((variable) => [variable.name, variable.value]));
    assert.equal(env.PYGEOAPI_K8S_MANAGER_INPUTS, '{"name":"Ada"}', 'the variable its images read, beside ours');
    assert.equal(env.K8S_MANAGER_INPUTS, '{"name":"Ada"}');
    assert.equal(env.PYGEOAPI_JOB_ID, res.body.jobID);
    assert.equal(env.PYGEOAPI_PROCESS_ID, 'hello-world-k8s');
    assert.deepEqual(pod.imagePullSecrets?.map((secret) => secret.name), ['registry-credentials']);
    assert.ok(pod.volumes!.some((volume) => volume.name === 'scratch-data' && volume.emptyDir?.sizeLimit === '1Gi'));
    assert.ok(!JSON.stringify(job).includes(TOKEN), 'the token is nowhere in the Job');
  });
});
