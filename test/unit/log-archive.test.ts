import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { LOG_FINALIZER } from '../../src/kubernetes/labels.js';
import { logKey } from '../../src/log-archive/bucket.js';
import { containersThatRan, readyToArchive } from '../../src/log-archive/controller.js';

const now = Date.parse('2026-11-21T12:00:00Z');
const running = { running: { startedAt: new Date(now - 5000) } };
const terminated = { terminated: { exitCode: 0 } };
const waiting = { waiting: { reason: 'ContainerCreating' } };

function pod(options: { phase?: string; deleting?: number; finalizers?: string[]; init?: object; main?: object }): V1Pod {
  return {
    metadata: {
      name: 'ogc-job-1-abcde',
      finalizers: options.finalizers ?? [LOG_FINALIZER],
      ...(options.deleting !== undefined ? { deletionTimestamp: new Date(options.deleting) } : {}),
    },
    spec: { initContainers: [{ name: 'prepare' }], containers: [{ name: 'main' }] },
    status: {
      phase: options.phase ?? 'Running',
      initContainerStatuses: options.init ? [{ name: 'prepare', state: options.init, image: 'i', imageID: '', ready: false, restartCount: 0 }] : [],
      containerStatuses: options.main ? [{ name: 'main', state: options.main, image: 'i', imageID: '', ready: false, restartCount: 0 }] : [],
    },
  } as V1Pod;
}

describe('log archive: which pods and containers to archive', () => {
  it('archives a pod once it has ended, not while it runs', () => {
    assert.equal(readyToArchive(pod({ phase: 'Succeeded', init: terminated, main: terminated }), now), true);
    assert.equal(readyToArchive(pod({ phase: 'Failed', init: terminated, main: terminated }), now), true);
    assert.equal(readyToArchive(pod({ init: terminated, main: running }), now), false);
  });

  it('waits for the containers of a deleted pod to stop, but not past its grace period (a lost node never reports them)', () => {
    assert.equal(readyToArchive(pod({ deleting: now + 30_000, init: terminated, main: running }), now), false);
    assert.equal(readyToArchive(pod({ deleting: now - 1, init: terminated, main: running }), now), true);
    assert.equal(readyToArchive(pod({ deleting: now + 30_000, init: terminated, main: terminated }), now), true);
    assert.equal(readyToArchive(pod({ deleting: now + 30_000, main: waiting }), now), true, 'a pod deleted before it started');
  });

  it('leaves pods without our finalizer alone, whatever else holds them', () => {
    assert.equal(readyToArchive(pod({ phase: 'Succeeded', finalizers: ['batch.kubernetes.io/job-tracking'] }), now), false);
  });

  it('reads init containers first, and skips containers that never started', () => {
    assert.deepEqual(containersThatRan(pod({ phase: 'Succeeded', init: terminated, main: terminated })), ['prepare', 'main']);
    assert.deepEqual(containersThatRan(pod({ phase: 'Failed', init: terminated, main: waiting })), ['prepare']);
    assert.deepEqual(containersThatRan(pod({ phase: 'Failed' })), []);
  });

  it('keys each log by job, pod and container under the prefix', () => {
    assert.equal(logKey('k8s-manager/logs/', 'job-1', 'ogc-job-1-abcde', 'main'), 'k8s-manager/logs/job-1/ogc-job-1-abcde/main.log');
    assert.equal(logKey('', 'job-1', 'pod', 'prepare'), 'job-1/pod/prepare.log');
  });
});
