// The `processor:` block of a GenericImageProcessor in server-config.yaml. Our option names are
// snake_case like the rest of the file; Kubernetes objects inside (affinity, tolerations,
// init_containers, security contexts) keep Kubernetes' own camelCase. The option names of
// pygeoapi-k8s-manager are accepted as aliases (see docs/migration.md).
import { inputDescriptionSchema, jobControlOptionSchema, outputDescriptionSchema } from '../ogc/schemas.js';

const name = { type: 'string', minLength: 1 } as const;
const k8sName = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253 } as const;
const quantity = { oneOf: [{ type: 'string', pattern: '^[+]?[0-9.]+([eE][-+]?[0-9]+|[a-zA-Z]{0,2})?$' }, { type: 'number', minimum: 0 }] } as const;
const object = { type: 'object' } as const;

const keyRef = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'key'],
  properties: { name: k8sName, key: name, optional: { type: 'boolean' } },
} as const;

/** One variable: a plain value, a key of a Secret or ConfigMap, or pygeoapi's {secret_name, secret_key}. */
const envVar = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[-._a-zA-Z][-._a-zA-Z0-9]*$' },
    value: { type: ['string', 'number', 'boolean'] },
    secretKeyRef: keyRef,
    configMapKeyRef: keyRef,
    secret_name: k8sName,
    secret_key: name,
  },
  oneOf: [
    { required: ['value'] },
    { required: ['secretKeyRef'] },
    { required: ['configMapKeyRef'] },
    { required: ['secret_name', 'secret_key'] },
  ],
} as const;

const envFrom = {
  type: 'object',
  additionalProperties: false,
  properties: {
    configMapRef: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: k8sName, optional: { type: 'boolean' } } },
    secretRef: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: k8sName, optional: { type: 'boolean' } } },
    prefix: { type: 'string' },
  },
  oneOf: [{ required: ['configMapRef'] }, { required: ['secretRef'] }],
} as const;

const resourceList = { type: 'object', additionalProperties: quantity } as const;

/** A volume and where the main container mounts it (pygeoapi's `storage` entries). */
const storage = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'mount_path'],
  properties: {
    name: k8sName,
    mount_path: { type: 'string', pattern: '^/' },
    sub_path: { type: 'string' },
    read_only: { type: 'boolean' },
    persistent_volume_claim_name: k8sName,
    empty_dir: {
      type: 'object',
      additionalProperties: false,
      properties: { medium: { type: 'string', enum: ['', 'Memory'] }, size_limit: quantity },
    },
    config_map: k8sName,
    secret: k8sName,
  },
  oneOf: [
    { required: ['persistent_volume_claim_name'] },
    { required: ['empty_dir'] },
    { required: ['config_map'] },
    { required: ['secret'] },
  ],
} as const;

/** The OGC description of the process (pygeoapi puts it under `metadata`). */
export const processMetadataSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title'],
  properties: {
    id: { type: 'string', description: 'Ignored: the resource key is the process id.' },
    version: { type: 'string', default: '1.0.0' },
    title: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    keywords: { type: 'array', items: { type: 'string' } },
    links: { type: 'array' },
    example: {},
    jobControlOptions: { type: 'array', minItems: 1, uniqueItems: true, items: jobControlOptionSchema },
    inputs: { type: 'object', additionalProperties: inputDescriptionSchema },
    outputs: { type: 'object', additionalProperties: outputDescriptionSchema },
  },
} as const;

/** A file name under /inputs or /outputs: one path segment. */
const fileId = { type: 'string', pattern: '^(?!\\.{1,2}$)[A-Za-z0-9._-]+$', maxLength: 200 } as const;
const mediaType = { type: 'string', pattern: '^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$' } as const;

/** File inputs and outputs, staged through the data bucket (docs/decisions/0016-file-staging-in-pods.md). */
const filesOption = {
  type: 'object',
  additionalProperties: false,
  properties: {
    inputs: {
      type: 'object',
      propertyNames: fileId,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['media_types', 'max_bytes'],
        properties: {
          title: { type: 'string' },
          description: { type: 'string' },
          media_types: { type: 'array', minItems: 1, items: mediaType },
          max_bytes: { type: 'integer', minimum: 1 },
          required: { type: 'boolean', default: true },
        },
      },
    },
    outputs: {
      type: 'object',
      propertyNames: fileId,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['media_type'],
        properties: { title: { type: 'string' }, description: { type: 'string' }, media_type: mediaType },
      },
    },
  },
} as const;

export const imageProcessOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'metadata'],
  properties: {
    name: { type: 'string' },
    metadata: processMetadataSchema,
    image: { type: 'string', minLength: 1 },
    default_image: { type: 'string', minLength: 1, description: 'pygeoapi-k8s-manager name of `image`.' },
    image_pull_policy: { type: 'string', enum: ['Always', 'IfNotPresent', 'Never'] },
    image_pull_secrets: { oneOf: [k8sName, { type: 'array', items: k8sName }] },
    command: { type: 'array', items: { type: 'string' } },
    args: { type: 'array', items: { type: 'string' } },
    working_dir: { type: 'string' },
    env: { type: 'array', items: envVar },
    env_from: { type: 'array', items: envFrom },
    env_files: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      description: 'dotenv files (relative to the config file); the server keeps each in a ConfigMap attached with envFrom.',
    },
    resources: {
      type: 'object',
      additionalProperties: false,
      properties: { requests: resourceList, limits: resourceList },
    },
    gpu: { type: 'integer', minimum: 1, description: 'Short for resources.limits["nvidia.com/gpu"].' },
    storage: { type: 'array', items: storage },
    node_selector: { type: 'object', additionalProperties: { type: 'string' } },
    affinity: object,
    tolerations: { type: 'array', items: object },
    service_account_name: k8sName,
    automount_service_account_token: { type: 'boolean', default: false },
    init_containers: { type: 'array', items: { type: 'object', required: ['name', 'image'], properties: { name: k8sName, image: name } } },
    security_context: { ...object, description: 'Pod securityContext; replaces the hardened default.' },
    container_security_context: { ...object, description: 'Container securityContext; replaces the hardened default.' },
    read_only_root_filesystem: {
      type: 'boolean',
      default: true,
      description: 'false: the image may write anywhere in its file system, not only in the scratch folder /tmp (still "restricted").',
    },
    timeout_seconds: { type: 'integer', minimum: 1, description: 'activeDeadlineSeconds; default: manager.kubernetes.default_timeout_seconds.' },
    retries: { type: 'integer', minimum: 0, maximum: 100, default: 0, description: 'backoffLimit.' },
    ttl_seconds_after_finished: { type: 'integer', minimum: 0 },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    check_auth: { type: 'boolean', default: true },
    files: { ...filesOption, description: 'File inputs (under /inputs) and outputs (under /outputs), staged through the data bucket.' },
    s3_access: {
      type: 'object',
      additionalProperties: false,
      required: ['credentials_secret'],
      description: 'For images that speak S3: no staging containers; the container gets INPUT_/OUTPUT_BUCKET and _PREFIX and the standard AWS variables, its credentials from this Secret.',
      properties: {
        credentials_secret: { ...k8sName, description: 'A Secret in the Jobs\' namespace with the access key id and secret.' },
        access_key_id_key: { type: 'string', minLength: 1, default: 'access-key-id' },
        secret_access_key_key: { type: 'string', minLength: 1, default: 'secret-access-key' },
      },
    },
    host_network: { type: 'boolean', default: false, description: 'Run the pod in the node\'s network namespace (refused by the baseline and restricted Pod Security levels).' },
    pygeoapi_env: {
      type: 'boolean',
      default: false,
      description: 'Also give the container the variables of pygeoapi-k8s-manager (PYGEOAPI_K8S_MANAGER_INPUTS, PYGEOAPI_JOB_ID, PYGEOAPI_PROCESS_ID), so its images run unchanged.',
    },
    mimetype: { type: 'string', description: 'Accepted from pygeoapi configurations; outputs carry their media types.' },
  },
  oneOf: [{ required: ['image'] }, { required: ['default_image'] }],
} as const;
