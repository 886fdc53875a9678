import assert from 'node:assert/strict';
import { buildJob, HARDENED_POD_SECURITY, SCRATCH_PATH } from '../../src/kubernetes/job-spec.js';
import { genericImageProcessorType, type ImageProcess } from '../../src/kubernetes/generic-image.js';

const defaults = { timeoutSeconds: 600, ttlSecondsAfterFinished: 3600, archiveLogs: false };
const request = { jobID: 'j-1', processID: 'tool', inputs: {}, response: 'raw' as const, created: 0 };

/** The pod template of one execution of a process configured with `options`. */
function podOf(options: Record<string, unknown> = {}) {
  const process = genericImageProcessorType.create('tool', { name: 'GenericImageProcessor', image: 'example.test/tool:1', metadata: { title: 'Tool' }, ...options }, { configDir: '.' }) as ImageProcess;
  return buildJob(process.spec, request, defaults).spec!.template.spec!;
}

describe('Job spec: the restricted Pod Security Standard by default', () => {
  it('runs as a non-root user with seccomp, no privilege escalation, no capabilities and a read-only root with /tmp as scratch', () => {
    const pod = podOf({ init_containers: [{ name: 'fetch', image: 'example.test/fetch:1' }] });
    assert.deepEqual(pod.securityContext, HARDENED_POD_SECURITY);
    const [main] = pod.containers;
    assert.deepEqual(main!.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true });
    assert.deepEqual(main!.volumeMounts, [{ name: 'k8s-manager-scratch', mountPath: SCRATCH_PATH }]);
    assert.deepEqual(pod.volumes, [{ name: 'k8s-manager-scratch', emptyDir: {} }]);
    assert.equal(main!.env!.find((e) => e.name === 'HOME')?.value, SCRATCH_PATH);
    const [init] = pod.initContainers!;
    assert.deepEqual(init!.securityContext, main!.securityContext, 'init containers are hardened alike');
    assert.deepEqual(init!.volumeMounts, [{ name: 'k8s-manager-scratch', mountPath: SCRATCH_PATH }], 'and share the scratch folder');
  });

  it('lets a process write its root file system (read_only_root_filesystem: false) and keep the rest of the hardening', () => {
    const [main] = podOf({ read_only_root_filesystem: false }).containers;
    assert.deepEqual(main!.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: false });
  });

  it('keeps a volume the process mounts at /tmp, and a HOME it sets', () => {
    const pod = podOf({ storage: [{ name: 'work', mount_path: '/tmp', empty_dir: { size_limit: '2Gi' } }], env: [{ name: 'HOME', value: '/work' }] });
    assert.deepEqual(pod.volumes, [{ name: 'work', emptyDir: { sizeLimit: '2Gi' } }]);
    assert.deepEqual(pod.containers[0]!.env!.filter((e) => e.name === 'HOME'), [{ name: 'HOME', value: '/work' }]);
  });

  it('replaces the defaults with the security contexts a process gives', () => {
    const pod = podOf({ security_context: { runAsNonRoot: true, runAsUser: 1001, seccompProfile: { type: 'RuntimeDefault' } }, container_security_context: { allowPrivilegeEscalation: false } });
    assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 1001, seccompProfile: { type: 'RuntimeDefault' } });
    assert.deepEqual(pod.containers[0]!.securityContext, { allowPrivilegeEscalation: false });
  });
});

describe('Job spec: file inputs and outputs staged by our own containers', () => {
  const files = { inputs: { text: { media_types: ['text/plain'], max_bytes: 1024 } }, outputs: { shouted: { media_type: 'text/plain' } } };
  const staging = { inputs: { text: 'https://s3.example.test/b/in?X-Amz-Signature=x' }, outputs: { shouted: { url: 'https://s3.example.test/b/out?X-Amz-Signature=y', mediaType: 'text/plain' } } };
  const stager = { image: 'registry.example.test/ogcapi-k8s-manager:1', imagePullPolicy: 'IfNotPresent' };
  const jobOf = () => {
    const process = genericImageProcessorType.create('tool', { name: 'GenericImageProcessor', image: 'example.test/tool:1', metadata: { title: 'Tool' }, files }, { configDir: '.' }) as ImageProcess;
    return buildJob(process.spec, { ...request, inputs: { text: { mediaType: 'text/plain', size: 5 } }, staging }, { ...defaults, stager });
  };

  it('stages inputs in an init container and outputs in a native sidecar, both hardened, with the URLs in their environment only', () => {
    const job = jobOf();
    const pod = job.spec!.template.spec!;
    const [stageIn, stageOut] = pod.initContainers!;
    assert.deepEqual([stageIn!.name, stageOut!.name], ['stage-in', 'stage-out']);
    assert.deepEqual(stageIn!.command, ['node', '/app/dist/src/staging/stage.js', 'in']);
    assert.equal(stageOut!.restartPolicy, 'Always', 'a sidecar: stopped once the main container has ended');
    for (const stage of [stageIn!, stageOut!]) {
      assert.equal(stage.image, stager.image);
      assert.deepEqual(stage.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true });
      assert.deepEqual(JSON.parse(stage.env!.find((e) => e.name === 'K8S_MANAGER_STAGE_PLAN')!.value!), staging);
    }
    const main = pod.containers[0]!;
    assert.equal(main.env!.some((e) => e.name === 'K8S_MANAGER_STAGE_PLAN'), false, 'the image never sees the URLs');
    assert.deepEqual(JSON.parse(main.env!.find((e) => e.name === 'K8S_MANAGER_INPUTS')!.value!), { text: '/inputs/text' });
    assert.deepEqual(main.volumeMounts!.filter((m) => m.mountPath !== '/tmp'), [{ name: 'k8s-manager-inputs', mountPath: '/inputs', readOnly: true }, { name: 'k8s-manager-outputs', mountPath: '/outputs' }]);
    assert.ok(pod.terminationGracePeriodSeconds! >= 600, 'time to send the outputs');
    assert.doesNotMatch(JSON.stringify(job.metadata!.annotations), /X-Amz-Signature/, 'no URL in the annotations');
  });
});

describe('Job spec: an image that speaks S3 itself (s3_access)', () => {
  it('gets the standard AWS variables, its credentials from the Secret, the job\'s prefixes, and no staging containers', () => {
    const process = genericImageProcessorType.create(
      'tool',
      { name: 'GenericImageProcessor', image: 'example.test/tool:1', metadata: { title: 'Tool' }, s3_access: { credentials_secret: 'tool-s3' }, files: { inputs: { scene: { media_types: ['image/tiff'], max_bytes: 1e9 } }, outputs: { ndvi: { media_type: 'image/tiff' } } } },
      { configDir: '.' },
    ) as ImageProcess;
    const dataBucket = { endpoint: 'https://s3.example.test', region: 'eu-west-1', bucket: 'job-data', pathPrefix: 'ogc/' };
    const pod = buildJob(process.spec, { ...request, jobID: 'j-1', inputs: { scene: { mediaType: 'image/tiff', size: 9 } } }, { ...defaults, dataBucket }).spec!.template.spec!;
    assert.equal(pod.initContainers, undefined, 'no staging containers');
    const env = Object.fromEntries(pod.containers[0]!.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
    assert.equal(env.AWS_ENDPOINT_URL, 'https://s3.example.test');
    assert.equal(env.AWS_REGION, 'eu-west-1');
    assert.deepEqual(env.AWS_ACCESS_KEY_ID, { secretKeyRef: { name: 'tool-s3', key: 'access-key-id' } });
    assert.deepEqual(env.AWS_SECRET_ACCESS_KEY, { secretKeyRef: { name: 'tool-s3', key: 'secret-access-key' } });
    assert.deepEqual([env.INPUT_BUCKET, env.INPUT_PREFIX, env.OUTPUT_BUCKET, env.OUTPUT_PREFIX], ['job-data', 'ogc/j-1/inputs/', 'job-data', 'ogc/j-1/outputs/']);
    assert.deepEqual(JSON.parse(env.K8S_MANAGER_INPUTS as string), { scene: 's3://job-data/ogc/j-1/inputs/scene' });
  });
});

describe("Job spec: the deadline (activeDeadlineSeconds)", () => {
  const deadlineOf = (options: Record<string, unknown>, timeoutSeconds?: number) => {
    const process = genericImageProcessorType.create('tool', { name: 'GenericImageProcessor', image: 'example.test/tool:1', metadata: { title: 'Tool' }, ...options }, { configDir: '.' }) as ImageProcess;
    return buildJob(process.spec, { ...request, ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) }, defaults).spec!.activeDeadlineSeconds;
  };

  it("is the process's timeout_seconds, else the server's default", () => {
    assert.equal(deadlineOf({ timeout_seconds: 60 }), 60);
    assert.equal(deadlineOf({}), 600);
  });

  it("is the request's own bound (a queue message's timeout) when that is shorter, never longer", () => {
    assert.equal(deadlineOf({ timeout_seconds: 60 }, 2), 2);
    assert.equal(deadlineOf({ timeout_seconds: 60 }, 3600), 60);
    assert.equal(deadlineOf({}, 7200), 600);
  });
});
