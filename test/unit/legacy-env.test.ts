import assert from 'node:assert/strict';
import { withLegacyEnv } from '../../src/config/legacy-env.js';

describe('pygeoapi-k8s-manager environment names', () => {
  it('reads each PYGEOAPI_K8S_MANAGER_* variable as its K8S_MANAGER_* twin, with a deprecation notice that shows no value', () => {
    const { env, notices } = withLegacyEnv({
      PYGEOAPI_K8S_MANAGER_API_TOKEN: 's3cr3t-token',
      PYGEOAPI_K8S_MANAGER_NAMESPACE: 'jobs',
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME: 'logs',
      K8S_MANAGER_FINALIZER_BUCKET_NAME: 'ours',
      PYGEOAPI_K8S_MANAGER_JOB_NAME_PREFIX: 'x-',
      PATH: '/bin',
    });
    assert.equal(env.K8S_MANAGER_API_TOKEN, 's3cr3t-token');
    assert.equal(env.K8S_MANAGER_NAMESPACE, 'jobs');
    assert.equal(env.K8S_MANAGER_FINALIZER_BUCKET_NAME, 'ours', 'ours wins when both are set');
    assert.equal(env.PATH, '/bin');
    assert.deepEqual(notices, [
      'PYGEOAPI_K8S_MANAGER_API_TOKEN is deprecated: set K8S_MANAGER_API_TOKEN instead',
      'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME is deprecated: set K8S_MANAGER_FINALIZER_BUCKET_NAME instead (K8S_MANAGER_FINALIZER_BUCKET_NAME is set too and wins)',
      'PYGEOAPI_K8S_MANAGER_JOB_NAME_PREFIX is a pygeoapi-k8s-manager variable with no effect here (see the README, Migrating from pygeoapi-k8s-manager)',
      'PYGEOAPI_K8S_MANAGER_NAMESPACE is deprecated: set K8S_MANAGER_NAMESPACE instead',
    ]);
    assert.ok(!notices.join(' ').includes('s3cr3t'));
  });

  it('changes nothing without them', () => {
    assert.deepEqual(withLegacyEnv({ K8S_MANAGER_API_TOKEN: 't' }), { env: { K8S_MANAGER_API_TOKEN: 't' }, notices: [] });
  });
});
