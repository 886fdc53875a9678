// The server reaches @kubernetes/client-node and the AWS SDK through one module each, which the build
// bundles with only what it re-exports (docs/decisions/0013): about 40 MB less memory in all.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BatchV1Api, KubeConfig } from '../../src/kubernetes/client-node.js';
import { repoRoot } from '../support/paths.js';

/** Each bundled module, the packages only it imports, and a name its bundle must keep and one it must leave out. */
const CLIENTS = [
  { module: 'src/kubernetes/client-node.ts', packages: '@kubernetes/client-node', used: 'BatchV1Api', unused: 'AppsV1Api' },
  { module: 'src/s3/client.ts', packages: '@aws-sdk/', used: 'ListObjectsV2Command', unused: 'PutBucketPolicyCommand' },
];
// A static import, a dynamic one, or esbuild's require of a package left outside the bundle (not the
// package names that the SDK's error messages quote).
const imports = (text: string, packages: string) => new RegExp(`(\\bfrom\\s*|\\bimport\\s*\\(\\s*|\\b__require\\(\\s*)["']${packages}`).test(text);
const sources = readdirSync(join(repoRoot, 'src'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts')).map((file) => join('src', file));

describe('The bundled client libraries', () => {
  for (const { module, packages, used, unused } of CLIENTS) {
    it(`${module} is the only module of src/ that imports ${packages}`, () => {
      assert.deepEqual(sources.filter((file) => imports(readFileSync(join(repoRoot, file), 'utf8'), packages)), [module]);
    });

    it(`${module} is built as one module that loads nothing of ${packages}, and leaves out what the server does not call`, () => {
      const built = readFileSync(join(repoRoot, 'dist', module.replace(/\.ts$/, '.js')), 'utf8');
      assert.ok(!imports(built, packages), 'the packages are bundled in, not imported');
      assert.match(built, new RegExp(`\\b${used}\\b`));
      assert.doesNotMatch(built, new RegExp(`\\b${unused}\\b`), `${unused} is left out`);
    });
  }

  it('the Kubernetes client works: an API client made from a kubeconfig sends an authenticated request and reads the answer into its models', async () => {
    const requests: Array<{ url?: string; authorization?: string }> = [];
    const apiServer = createServer((request, response) => {
      requests.push({ url: request.url, authorization: request.headers.authorization });
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ kind: 'JobList', apiVersion: 'batch/v1', metadata: {}, items: [{ metadata: { name: 'job-1', creationTimestamp: '2026-01-02T03:04:05Z' } }] }));
    });
    await new Promise<void>((resolve) => apiServer.listen(0, '127.0.0.1', resolve));
    try {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromOptions({
        clusters: [{ name: 'local', server: `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}`, skipTLSVerify: true }],
        users: [{ name: 'user', token: 'token-1' }],
        contexts: [{ name: 'local', cluster: 'local', user: 'user' }],
        currentContext: 'local',
      });
      const jobs = await kubeConfig.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: 'ns', labelSelector: 'a=b' });
      assert.deepEqual(requests, [{ url: '/apis/batch/v1/namespaces/ns/jobs?labelSelector=a%3Db', authorization: 'Bearer token-1' }]);
      assert.equal(jobs.items[0]?.metadata?.name, 'job-1');
      assert.ok(jobs.items[0]?.metadata?.creationTimestamp instanceof Date, 'the generated models deserialize the answer');
    } finally {
      apiServer.close();
    }
  });
});
