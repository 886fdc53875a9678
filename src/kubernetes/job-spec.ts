import type { V1Container, V1EnvVar, V1Job, V1Volume, V1VolumeMount } from './client-node.js';
import { initialNotifications, type JobOrigin, type NotificationKind, type ResultsRequest, type Subscriber } from '../jobs/job.js';
import { INPUTS_DIR, OUTPUTS_DIR, STAGE_PLAN_VARIABLE, type StagePlan } from '../staging/stage.js';
import type { ImageProcessSpec } from './generic-image.js';
import { ANNOTATIONS, jobName, LABELS, LOG_FINALIZER, MAIN_CONTAINER, MANAGED_BY, notificationAnnotation } from './labels.js';

/** Server-wide defaults that a process may override. */
export interface JobDefaults {
  timeoutSeconds: number;
  ttlSecondsAfterFinished: number;
  /** Log archiving is on: every pod carries LOG_FINALIZER. */
  archiveLogs: boolean;
  /** The image that stages file inputs and outputs (the server's own); needed by processes with files. */
  stager?: { image: string; imagePullPolicy?: string };
  /** Where job files are (the data bucket), for images that reach it themselves (s3_access). */
  dataBucket?: { endpoint: string; region: string; bucket: string; pathPrefix: string };
}

/** Where the staging program is in the server's image (Dockerfile: WORKDIR /app). */
const STAGE_PROGRAM = '/app/dist/src/staging/stage.js';
/** Time the sidecar has to send the outputs once the main container has ended. */
const STAGE_OUT_GRACE_SECONDS = 600;

/** When a process sets no resources: enough for a small tool, bounded so one job cannot take a node. */
export const DEFAULT_RESOURCES = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } };

/**
 * Unless the process says otherwise, job pods meet the `restricted` Pod Security Standard, so they run
 * in a namespace that enforces it: a non-root user, no privilege escalation, no capabilities, seccomp
 * on, and a read-only root file system with a writable scratch folder (`SCRATCH_PATH`, an emptyDir).
 */
export const HARDENED_CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  readOnlyRootFilesystem: true,
};
/** A fixed non-root user: most images run as root, and `runAsNonRoot` alone would refuse them. */
export const HARDENED_POD_SECURITY = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } };
/** The scratch folder every container can write (HOME too, unless the process sets HOME). */
export const SCRATCH_PATH = '/tmp';
const SCRATCH_VOLUME = 'k8s-manager-scratch';

export interface JobRequest extends ResultsRequest {
  jobID: string;
  processID: string;
  /** Validated inputs, token removed; a file input is its StoredFile (the container gets its path). */
  inputs: Record<string, unknown>;
  created: number;
  /** Presigned URLs of the job's files, for a process with file inputs or outputs. */
  staging?: StagePlan;
  subscriber?: Subscriber;
  origin?: JobOrigin;
  /** The request's own bound on the job's time: the deadline is the lesser of it and the process's. */
  timeoutSeconds?: number;
}

/** The subscriber, the origin, and the first state of each notification they ask for. */
function notificationAnnotations({ subscriber, origin }: JobRequest): Record<string, string> {
  const states = Object.entries(initialNotifications(subscriber, origin) ?? {}).map(([kind, state]) => [notificationAnnotation(kind as NotificationKind), JSON.stringify(state)]);
  return {
    ...(subscriber ? { [ANNOTATIONS.subscriber]: JSON.stringify(subscriber) } : {}),
    ...(origin ? { [ANNOTATIONS.origin]: JSON.stringify(origin) } : {}),
    ...Object.fromEntries(states),
  };
}

/** The names images written for pygeoapi-k8s-manager read. */
function pygeoapiEnv(request: JobRequest, inputs: Record<string, unknown>): V1EnvVar[] {
  return [
    { name: 'PYGEOAPI_K8S_MANAGER_INPUTS', value: JSON.stringify(inputs) },
    { name: 'PYGEOAPI_JOB_ID', value: request.jobID },
    { name: 'PYGEOAPI_PROCESS_ID', value: request.processID },
  ];
}

const SECRET_LOOKING = /secret|password|passwd|token|key|credential/i;

/** The inputs for the annotation: values under secret-looking names are masked (the env var keeps them). */
export function maskedInputs(inputs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(inputs).map(([name, value]) => [name, SECRET_LOOKING.test(name) ? '***' : value]));
}

/** The Kubernetes Job for one execution of an image process. */
export function buildJob(spec: ImageProcessSpec, request: JobRequest, defaults: JobDefaults): V1Job {
  const labels = { ...spec.labels, [LABELS.managedBy]: MANAGED_BY, [LABELS.jobId]: request.jobID, [LABELS.processId]: request.processID };
  const identity: V1EnvVar[] = [
    { name: 'K8S_MANAGER_JOB_ID', value: request.jobID },
    { name: 'K8S_MANAGER_PROCESS_ID', value: request.processID },
  ];
  const mounts: V1VolumeMount[] = spec.volumes.map((volume) => ({
    name: volume.name,
    mountPath: volume.mountPath,
    ...(volume.subPath ? { subPath: volume.subPath } : {}),
    ...(volume.readOnly !== undefined ? { readOnly: volume.readOnly } : {}),
  }));
  const containerSecurity = spec.containerSecurityContext ?? { ...HARDENED_CONTAINER_SECURITY, readOnlyRootFilesystem: spec.readOnlyRootFilesystem };
  // A process that mounts its own volume at the scratch path keeps it.
  const scratch = spec.volumes.some((volume) => volume.mountPath === SCRATCH_PATH) ? undefined : { name: SCRATCH_VOLUME, mountPath: SCRATCH_PATH };
  if (scratch) mounts.push(scratch);
  const home: V1EnvVar[] = spec.env.some((variable) => variable.name === 'HOME') ? [] : [{ name: 'HOME', value: SCRATCH_PATH }];
  const staging = stagingOf(spec, request, defaults, containerSecurity);
  mounts.push(...staging.mainMounts);
  // A file input reaches the container as the path of its file (an s3:// URL for an image that speaks S3).
  const s3Contract = s3ContractOf(spec, request, defaults);
  const fileInput = (id: string) => (s3Contract ? `s3://${defaults.dataBucket!.bucket}/${s3Contract.inputPrefix}${id}` : `${INPUTS_DIR}/${id}`);
  const inputs = Object.fromEntries(Object.entries(request.inputs).map(([id, value]) => [id, id in spec.fileInputs ? fileInput(id) : value]));
  const main: V1Container = {
    name: MAIN_CONTAINER,
    image: spec.image,
    env: [...home, ...spec.env, ...identity, ...(s3Contract?.env ?? []), { name: 'K8S_MANAGER_INPUTS', value: JSON.stringify(inputs) }, ...(spec.pygeoapiEnv ? pygeoapiEnv(request, inputs) : [])],
    resources: spec.resources ?? DEFAULT_RESOURCES,
    securityContext: containerSecurity,
    // Outputs come back through the termination message file (Kubernetes' own channel, 4 KiB). A
    // container that fails without writing it gets the tail of its log there instead (kubelet's own).
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  if (spec.imagePullPolicy) main.imagePullPolicy = spec.imagePullPolicy;
  if (spec.command) main.command = spec.command;
  if (spec.args) main.args = spec.args;
  if (spec.workingDir) main.workingDir = spec.workingDir;
  if (spec.envFrom.length) main.envFrom = spec.envFrom;
  main.volumeMounts = mounts;

  const resultsRequest: ResultsRequest = { response: request.response, ...(request.outputs ? { outputs: request.outputs } : {}) };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName(request.jobID),
      labels,
      annotations: {
        ...spec.annotations,
        [ANNOTATIONS.created]: new Date(request.created).toISOString(),
        [ANNOTATIONS.inputs]: JSON.stringify(maskedInputs(inputs)),
        ...(Object.keys(spec.fileOutputs).length ? { [ANNOTATIONS.fileOutputs]: JSON.stringify(spec.fileOutputs) } : {}),
        [ANNOTATIONS.resultsRequest]: JSON.stringify(resultsRequest),
        ...notificationAnnotations(request),
      },
    },
    spec: {
      backoffLimit: spec.retries,
      activeDeadlineSeconds: Math.min(spec.timeoutSeconds ?? defaults.timeoutSeconds, request.timeoutSeconds ?? Infinity),
      ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished ?? defaults.ttlSecondsAfterFinished,
      template: {
        metadata: { labels, annotations: { ...spec.annotations }, ...(defaults.archiveLogs ? { finalizers: [LOG_FINALIZER] } : {}) },
        spec: {
          restartPolicy: 'Never',
          enableServiceLinks: false,
          automountServiceAccountToken: spec.automountServiceAccountToken,
          securityContext: spec.podSecurityContext ?? HARDENED_POD_SECURITY,
          containers: [main],
          ...(staging.containers.length || spec.initContainers.length
            ? {
                initContainers: [...staging.containers, ...spec.initContainers.map((init) => ({
                  securityContext: containerSecurity,
                  ...init,
                  env: [...home, ...(init.env ?? []), ...identity],
                  ...(scratch ? { volumeMounts: [...(init.volumeMounts ?? []), scratch] } : {}),
                }))],
              }
            : {}),
          volumes: [...spec.volumes.map(toVolume), ...(scratch ? [{ name: SCRATCH_VOLUME, emptyDir: {} }] : []), ...staging.volumes],
          ...(staging.containers.some((c) => c.name === 'stage-out') ? { terminationGracePeriodSeconds: STAGE_OUT_GRACE_SECONDS } : {}),
          ...(spec.hostNetwork ? { hostNetwork: true } : {}),
          ...(spec.imagePullSecrets.length ? { imagePullSecrets: spec.imagePullSecrets.map((name) => ({ name })) } : {}),
          ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
          ...(spec.affinity ? { affinity: spec.affinity } : {}),
          ...(spec.tolerations ? { tolerations: spec.tolerations } : {}),
          ...(spec.serviceAccountName ? { serviceAccountName: spec.serviceAccountName } : {}),
        },
      },
    },
  };
}

/**
 * The staging of a process with files (docs/decisions/0016-file-staging-in-pods.md): the init container
 * `stage-in` fills /inputs, the sidecar `stage-out` sends /outputs once the main container has ended.
 * Only they get the presigned URLs; the main container mounts the two folders.
 */
function stagingOf(spec: ImageProcessSpec, request: JobRequest, defaults: JobDefaults, securityContext: V1Container['securityContext']) {
  const hasInputs = Object.keys(spec.fileInputs).length > 0;
  const hasOutputs = Object.keys(spec.fileOutputs).length > 0;
  const none = { containers: [] as V1Container[], volumes: [] as V1Volume[], mainMounts: [] as V1VolumeMount[] };
  if ((!hasInputs && !hasOutputs) || spec.s3Access) return none;
  if (!defaults.stager || !request.staging) throw new Error('a process with files needs the stager image and a staging plan');
  const { image, imagePullPolicy } = defaults.stager;
  const plan: V1EnvVar[] = [{ name: STAGE_PLAN_VARIABLE, value: JSON.stringify(request.staging) }];
  const stager = (name: string, direction: 'in' | 'out', mount: V1VolumeMount): V1Container => ({
    name,
    image,
    ...(imagePullPolicy ? { imagePullPolicy } : {}),
    command: ['node', STAGE_PROGRAM, direction],
    env: plan,
    volumeMounts: [mount],
    securityContext,
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
  });
  const inputs = { name: 'k8s-manager-inputs', mountPath: INPUTS_DIR };
  const outputs = { name: 'k8s-manager-outputs', mountPath: OUTPUTS_DIR };
  return {
    containers: [
      ...(hasInputs ? [stager('stage-in', 'in', inputs)] : []),
      // a native sidecar: started before the main container, stopped (SIGTERM) after it has ended
      ...(hasOutputs ? [{ ...stager('stage-out', 'out', outputs), restartPolicy: 'Always' }] : []),
    ],
    volumes: [...(hasInputs ? [{ name: inputs.name, emptyDir: {} }] : []), ...(hasOutputs ? [{ name: outputs.name, emptyDir: {} }] : [])],
    mainMounts: [...(hasInputs ? [{ ...inputs, readOnly: true }] : []), ...(hasOutputs ? [outputs] : [])],
  };
}

/**
 * The contract of an image that reads and writes the data bucket itself (s3_access): the standard AWS
 * variables (credentials from the operator's Secret, never a literal) and the job's input and output
 * prefixes, where the server put the inputs and looks for the outputs (`<prefix><job>/outputs/<id>`).
 */
function s3ContractOf(spec: ImageProcessSpec, request: JobRequest, defaults: JobDefaults): { env: V1EnvVar[]; inputPrefix: string } | undefined {
  if (!spec.s3Access) return undefined;
  if (!defaults.dataBucket) throw new Error('a process with s3_access needs the data bucket');
  const { endpoint, region, bucket, pathPrefix } = defaults.dataBucket;
  const { secret, accessKeyIdKey, secretAccessKeyKey } = spec.s3Access;
  const inputPrefix = `${pathPrefix}${request.jobID}/inputs/`;
  return {
    inputPrefix,
    env: [
      { name: 'AWS_ENDPOINT_URL', value: endpoint },
      { name: 'AWS_REGION', value: region },
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: secret, key: accessKeyIdKey } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: secret, key: secretAccessKeyKey } } },
      { name: 'INPUT_BUCKET', value: bucket },
      { name: 'INPUT_PREFIX', value: inputPrefix },
      { name: 'OUTPUT_BUCKET', value: bucket },
      { name: 'OUTPUT_PREFIX', value: `${pathPrefix}${request.jobID}/outputs/` },
    ],
  };
}

function toVolume(volume: ImageProcessSpec['volumes'][number]): V1Volume {
  const { source } = volume;
  if ('persistentVolumeClaim' in source) return { name: volume.name, persistentVolumeClaim: { claimName: source.persistentVolumeClaim } };
  if ('configMap' in source) return { name: volume.name, configMap: { name: source.configMap } };
  if ('secret' in source) return { name: volume.name, secret: { secretName: source.secret } };
  return { name: volume.name, emptyDir: source.emptyDir };
}
