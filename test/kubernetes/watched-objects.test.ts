import assert from 'node:assert/strict';
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { createLogger } from '../../src/logger.js';
import { apiClient } from '../../src/kubernetes/cluster.js';
import { WatchedObjects } from '../../src/kubernetes/watched-objects.js';
import { eventually } from '../support/server.js';
import { ClusterFixture } from './support.js';

describe('the watch-backed cache (real API server)', function () {
  this.timeout(60_000);
  const cluster = new ClusterFixture();
  before(() => cluster.setUp('watched'));
  after(() => cluster.tearDown());

  it('logs an event handler that throws, and goes on delivering the next events', async () => {
    const { namespace } = cluster;
    const core = apiClient(cluster.kubeConfig, CoreV1Api);
    const logLines: Array<{ level: number; msg: string; object?: string; err?: { message: string } }> = [];
    const logger = createLogger('info', { write: (line: string) => void logLines.push(JSON.parse(line)) });
    const seen: string[] = [];
    const watched = new WatchedObjects<V1ConfigMap>(
      cluster.kubeConfig,
      {
        path: `/api/v1/namespaces/${namespace}/configmaps`,
        listPage: (page) => core.listNamespacedConfigMap({ namespace, ...page }),
        labelSelector: 'watched-test=yes',
        trim: () => undefined,
      },
      logger,
      (map) => {
        if (map.metadata?.name === 'handler-throws') throw new Error('a bug in the handler');
        seen.push(map.metadata!.name!);
      },
    );
    await watched.start();
    try {
      for (const name of ['handler-throws', 'next-one']) {
        await core.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels: { 'watched-test': 'yes' } } } });
      }
      await eventually(async () => seen, (names) => names.includes('next-one'));
      const failure = logLines.find((line) => line.object === 'handler-throws');
      assert.ok(failure, `no log line names the object whose handler threw: ${JSON.stringify(logLines)}`);
      assert.equal(failure.level, 50, 'logged as an error');
      assert.equal(failure.err?.message, 'a bug in the handler');
      assert.equal(watched.get('next-one', namespace)?.metadata?.name, 'next-one', 'the cache holds both objects');
    } finally {
      await watched.stop();
    }
  });
});
