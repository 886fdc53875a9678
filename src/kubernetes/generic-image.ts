import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import type { FromSchema } from 'json-schema-to-ts';
import { ConfigError } from '../errors.js';
import type { FileInputSpec } from '../job-data/file-inputs.js';
import { TOKEN_INPUT } from '../jobs/manager.js';
import type { InputDescription } from '../ogc/schemas.js';
import type { Process, ProcessDescription } from '../processes/process.js';
import type { ProcessorType } from '../processes/processor-types.js';
import type { V1Affinity, V1Container, V1EnvVar, V1PodSecurityContext, V1SecurityContext, V1Toleration } from './client-node.js';
import { imageProcessOptionsSchema } from './image-process-schema.js';

type ImageProcessOptions = FromSchema<typeof imageProcessOptionsSchema>;

export interface VolumeSpec {
  name: string;
  mountPath: string;
  subPath?: string;
  readOnly?: boolean;
  source: { persistentVolumeClaim: string } | { emptyDir: { medium?: string; sizeLimit?: string } } | { configMap: string } | { secret: string };
}

/** Everything a GenericImageProcessor process needs to become a Kubernetes Job, names normalised. */
export interface ImageProcessSpec {
  image: string;
  imagePullPolicy?: string;
  imagePullSecrets: string[];
  command?: string[];
  args?: string[];
  workingDir?: string;
  env: V1EnvVar[];
  envFrom: Array<{ configMapRef?: { name: string; optional?: boolean }; secretRef?: { name: string; optional?: boolean }; prefix?: string }>;
  /** ConfigMaps made from env files: name → data. The server creates or updates them at start-up. */
  envFileConfigMaps: Record<string, Record<string, string>>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumes: VolumeSpec[];
  nodeSelector?: Record<string, string>;
  affinity?: V1Affinity;
  tolerations?: V1Toleration[];
  serviceAccountName?: string;
  automountServiceAccountToken: boolean;
  initContainers: V1Container[];
  podSecurityContext?: V1PodSecurityContext;
  containerSecurityContext?: V1SecurityContext;
  /** With the hardened container default: the root file system is read-only (scratch stays writable). */
  readOnlyRootFilesystem: boolean;
  /** File inputs, staged into /inputs (docs/decisions/0016-file-staging-in-pods.md). */
  fileInputs: Record<string, FileInputSpec>;
  /** File outputs the container leaves in /outputs: output id → media type. */
  fileOutputs: Record<string, string>;
  hostNetwork: boolean;
  /** pygeoapi-k8s-manager's variable names beside ours. */
  pygeoapiEnv: boolean;
  /** The image reads and writes the data bucket itself; its credentials come from this Secret. */
  s3Access?: { secret: string; accessKeyIdKey: string; secretAccessKeyKey: string };
  timeoutSeconds?: number;
  retries: number;
  ttlSecondsAfterFinished?: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A process whose jobs are Kubernetes Jobs running a configured image. */
export interface ImageProcess extends Process {
  readonly backend: 'kubernetes';
  readonly spec: ImageProcessSpec;
  /** check_auth: executions must carry the `token` input equal to K8S_MANAGER_API_TOKEN. */
  readonly requiresToken: boolean;
}


const tokenInput: InputDescription = {
  title: 'API token',
  description: 'The token of this server (K8S_MANAGER_API_TOKEN). It is checked, then removed: it never reaches the job.',
  minOccurs: 1,
  maxOccurs: 1,
  schema: { type: 'string', format: 'password' },
};

export function isImageProcess(process: Process): process is ImageProcess {
  return process.backend === 'kubernetes';
}

export const genericImageProcessorType: ProcessorType = {
  name: 'GenericImageProcessor',
  optionsSchema: imageProcessOptionsSchema,
  create(processId, raw, { configDir }) {
    const options = raw as ImageProcessOptions;
    const requiresToken = options.check_auth ?? true;
    const { metadata } = options;
    const spec = specOf(processId, options, configDir);
    const inputs: Record<string, InputDescription> = { ...(metadata.inputs as Record<string, InputDescription> | undefined) };
    const outputs = { ...(metadata.outputs as ProcessDescription['outputs'] | undefined) };
    for (const [id, file] of Object.entries(options.files?.inputs ?? {})) {
      const types = file.media_types.map((contentMediaType) => ({ type: 'string', contentMediaType }));
      inputs[id] = {
        title: file.title ?? id,
        description: `${file.description ? `${file.description} ` : ''}A file of at most ${file.max_bytes} bytes: the text, {"value": ..., "mediaType": ..., "encoding": "base64"}, or {"href": ...}. The container finds it at /inputs/${id}.`,
        minOccurs: file.required === false ? 0 : 1,
        maxOccurs: 1,
        schema: types.length === 1 ? types[0]! : { oneOf: types },
      };
    }
    for (const [id, file] of Object.entries(options.files?.outputs ?? {})) {
      outputs[id] = { title: file.title ?? id, ...(file.description ? { description: file.description } : {}), schema: { type: 'string', contentMediaType: file.media_type } };
    }
    if (requiresToken) inputs[TOKEN_INPUT] = tokenInput;
    const description: ProcessDescription = {
      id: processId,
      version: metadata.version ?? '1.0.0',
      title: metadata.title,
      ...(metadata.description ? { description: metadata.description } : {}),
      ...(metadata.keywords ? { keywords: [...metadata.keywords] } : {}),
      jobControlOptions: metadata.jobControlOptions ? [...metadata.jobControlOptions] : ['sync-execute', 'async-execute', 'dismiss'],
      outputTransmission: Object.keys(spec.fileOutputs).length ? ['value', 'reference'] : ['value'],
      inputs,
      outputs,
    };
    const image: ImageProcess = {
      backend: 'kubernetes',
      description,
      requiresToken,
      spec,
      ...(Object.keys(spec.fileInputs).length ? { fileInputs: spec.fileInputs } : {}),
    };
    return image;
  },
};

function specOf(processId: string, options: ImageProcessOptions, configDir: string): ImageProcessSpec {
  const envFileConfigMaps: ImageProcessSpec['envFileConfigMaps'] = {};
  const envFrom: ImageProcessSpec['envFrom'] = (options.env_from ?? []).map((entry) => ({ ...entry }));
  (options.env_files ?? []).forEach((file, index) => {
    const path = resolve(configDir, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigError(`process '${processId}': env file ${path} cannot be read: ${(error as Error).message}`);
    }
    const name = `ogc-${processId.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-env-${index}`.slice(0, 63).replace(/-+$/, '');
    envFileConfigMaps[name] = parseDotenv(text);
    envFrom.push({ configMapRef: { name } });
  });

  const limits: Record<string, string> = { ...stringValues(options.resources?.limits) };
  if (options.gpu) limits['nvidia.com/gpu'] = String(options.gpu);
  const requests = stringValues(options.resources?.requests);
  const spec: ImageProcessSpec = {
    image: (options.image ?? options.default_image)!,
    imagePullSecrets: typeof options.image_pull_secrets === 'string' ? [options.image_pull_secrets] : [...(options.image_pull_secrets ?? [])],
    env: (options.env ?? []).map(toEnvVar),
    envFrom,
    envFileConfigMaps,
    volumes: (options.storage ?? []).map(toVolume),
    automountServiceAccountToken: options.automount_service_account_token ?? false,
    readOnlyRootFilesystem: options.read_only_root_filesystem ?? true,
    fileInputs: Object.fromEntries(
      Object.entries(options.files?.inputs ?? {}).map(([id, file]) => [id, { mediaTypes: [...file.media_types], maxBytes: file.max_bytes, required: file.required ?? true }]),
    ),
    fileOutputs: Object.fromEntries(Object.entries(options.files?.outputs ?? {}).map(([id, file]) => [id, file.media_type])),
    hostNetwork: options.host_network ?? false,
    pygeoapiEnv: options.pygeoapi_env ?? false,
    ...(options.s3_access
      ? {
          s3Access: {
            secret: options.s3_access.credentials_secret,
            accessKeyIdKey: options.s3_access.access_key_id_key ?? 'access-key-id',
            secretAccessKeyKey: options.s3_access.secret_access_key_key ?? 'secret-access-key',
          },
        }
      : {}),
    initContainers: (options.init_containers ?? []) as V1Container[],
    retries: options.retries ?? 0,
    labels: { ...options.labels },
    annotations: { ...options.annotations },
  };
  if (options.image_pull_policy) spec.imagePullPolicy = options.image_pull_policy;
  if (options.command) spec.command = [...options.command];
  if (options.args) spec.args = [...options.args];
  if (options.working_dir) spec.workingDir = options.working_dir;
  if (Object.keys(requests ?? {}).length || Object.keys(limits).length) spec.resources = { ...(requests ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) };
  if (options.node_selector) spec.nodeSelector = { ...options.node_selector };
  if (options.affinity) spec.affinity = options.affinity as V1Affinity;
  if (options.tolerations) spec.tolerations = options.tolerations.map((t) => camelKeys(t) as V1Toleration);
  if (options.service_account_name) spec.serviceAccountName = options.service_account_name;
  if (options.security_context) spec.podSecurityContext = options.security_context as V1PodSecurityContext;
  if (options.container_security_context) spec.containerSecurityContext = options.container_security_context as V1SecurityContext;
  if (options.timeout_seconds !== undefined) spec.timeoutSeconds = options.timeout_seconds;
  if (options.ttl_seconds_after_finished !== undefined) spec.ttlSecondsAfterFinished = options.ttl_seconds_after_finished;
  return spec;
}

function stringValues(list: Record<string, unknown> | undefined): Record<string, string> | undefined {
  return list && Object.fromEntries(Object.entries(list).map(([key, value]) => [key, String(value)]));
}

type EnvOption = NonNullable<ImageProcessOptions['env']>[number];

function toEnvVar(entry: EnvOption): V1EnvVar {
  if (entry.secretKeyRef) return { name: entry.name, valueFrom: { secretKeyRef: { ...entry.secretKeyRef } } };
  if (entry.configMapKeyRef) return { name: entry.name, valueFrom: { configMapKeyRef: { ...entry.configMapKeyRef } } };
  if (entry.secret_name) return { name: entry.name, valueFrom: { secretKeyRef: { name: entry.secret_name, key: entry.secret_key! } } };
  return { name: entry.name, value: String(entry.value) };
}

type StorageOption = NonNullable<ImageProcessOptions['storage']>[number];

function toVolume(entry: StorageOption): VolumeSpec {
  const volume: VolumeSpec = {
    name: entry.name,
    mountPath: entry.mount_path,
    source: entry.persistent_volume_claim_name
      ? { persistentVolumeClaim: entry.persistent_volume_claim_name }
      : entry.config_map
        ? { configMap: entry.config_map }
        : entry.secret
          ? { secret: entry.secret }
          : {
              emptyDir: {
                ...(entry.empty_dir?.medium !== undefined ? { medium: entry.empty_dir.medium } : {}),
                ...(entry.empty_dir?.size_limit !== undefined ? { sizeLimit: String(entry.empty_dir.size_limit) } : {}),
              },
            },
  };
  if (entry.sub_path) volume.subPath = entry.sub_path;
  if (entry.read_only !== undefined) volume.readOnly = entry.read_only;
  return volume;
}

/** pygeoapi-k8s-manager passed tolerations with snake_case keys (toleration_seconds). */
function camelKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]));
}
