// The server reaches @kubernetes/client-node through one module that the build bundles with only what it
// re-exports (docs/decisions/0013): about 30 MB less memory than loading the package's index.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BatchV1Api, KubeConfig } from '../../src/kubernetes/client-node.js';
import { repoRoot } from '../support/paths.js';

const FACADE = 'src/kubernetes/client-node.ts';
const importsPackage = (text: string) => /\b(from|import|require)\s*\(?\s*["']@kubernetes\/client-node\b/.test(text);

describe('The bundled Kubernetes client', () => {
  it('is the only module of src/ that imports @kubernetes/client-node', () => {
    const sources = readdirSync(join(repoRoot, 'src'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts')).map((file) => join('src', file));
    const importing = sources.filter((file) => importsPackage(readFileSync(join(repoRoot, file), 'utf8')));
    assert.deepEqual(importing, [FACADE]);
  });

  it('is built as one module that loads nothing of the package, and leaves out the API groups the server does not call', () => {
    const built = readFileSync(join(repoRoot, 'dist', FACADE.replace(/\.ts$/, '.js')), 'utf8');
    assert.ok(!importsPackage(built), 'the package is bundled in, not imported');
    assert.match(built, /\bBatchV1Api\b/);
    assert.doesNotMatch(built, /\bAppsV1Api\b/, 'the unused generated APIs are left out');
  });

  it('works: an API client made from a kubeconfig sends an authenticated request and reads the answer into its models', async () => {
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
