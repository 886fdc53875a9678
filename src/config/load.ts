import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError } from '../errors.js';
import type { Process } from '../processes/process.js';
import { findProcessorType, type ProcessorType } from '../processes/processor-types.js';
import type { UrlPolicy } from '../net/url-guard.js';
import { createAjv, describeErrors, messageOf, pathOf } from '../validation/ajv.js';
import { serverConfigSchema, type ServerConfigFile } from './schema.js';

export interface NotificationsConfig {
  policy: UrlPolicy;
  timeoutMs: number;
  maxAttempts: number;
  deadlineMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  sweepMs: number;
}

export interface BucketConfig {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  /** Every key starts with it; ends with '/' unless empty. */
  pathPrefix: string;
  region: string;
  /** The store's address as clients reach it: links to job files are then presigned URLs of the store. */
  publicEndpoint?: string;
}

export interface LogArchiveConfig {
  bucket: BucketConfig;
  runInServer: boolean;
  leaseDurationSeconds: number;
  maxRetrySeconds: number;
  resyncSeconds: number;
}

export const BUCKET_VARIABLE_PREFIX = 'K8S_MANAGER_FINALIZER_BUCKET_';

/** The broker's URL (amqp:// or amqps://, credentials in it): from the environment only, never logged. */
export const AMQP_URL_VARIABLE = 'K8S_MANAGER_AMQP_URL';

export interface IntakeQueueConfig {
  name: string;
  deadLetterQueue: string;
  /** The simpler message shape of queue workers: the processes it may name, message field → input, and the field that bounds the job's time. */
  compatible?: { processes: string[]; inputs: Record<string, string>; timeoutField?: string };
}

export interface IntakeConfig {
  url: string;
  /** The broker's host and port: what logs and messages may name. */
  host: string;
  runInServer: boolean;
  prefetch: number;
  /** The most bytes of a job's log tail in its reply; 0: none. */
  replyLogBytes: number;
  queues: IntakeQueueConfig[];
}

export interface ResourceConfig {
  id: string;
  processorType: ProcessorType;
  options: Record<string, unknown>;
}

/** The validated configuration, with defaults filled in and environment overrides applied. */
export interface ServerConfig {
  file: string;
  server: {
    url: string;
    host: string;
    port: number;
    maxBodyBytes: number;
    maxBodyDepth: number;
    /** How long a client may take to send the headers, and the whole request (Node's headersTimeout, requestTimeout). */
    headersTimeoutSeconds: number;
    requestTimeoutSeconds: number;
    logLevel: string;
    title: string;
    description: string;
  };
  manager: {
    localStorePath: string;
    /** Job files: where they are kept (undefined: a temporary folder), how large an inline one may be, how long links last. */
    files: {
      path?: string;
      /** Job files in S3 instead of on local disk (K8S_MANAGER_DATA_BUCKET_*): what replicas and pods share. */
      bucket?: BucketConfig;
      maxInlineBytes: number;
      linkTtlSeconds: number;
      href: UrlPolicy & { timeoutSeconds: number };
    };
    syncWaitSeconds: number;
    notifications: NotificationsConfig;
    kubernetes: {
      defaultTimeoutSeconds: number;
      defaultTtlSecondsAfterFinished: number;
      stuckGraceSeconds: number;
      maxInputsBytes: number;
      resyncSeconds: number;
      filesSweepSeconds: number;
      /** The image of the staging containers, for processes with files. */
      stager?: { image: string; imagePullPolicy?: string };
    };
    /** Set when the log finalizer controller is on; its bucket comes from the environment. */
    logArchive?: LogArchiveConfig;
    /** Set when the queue intake is on; its broker comes from the environment. */
    intake?: IntakeConfig;
  };
  resources: ResourceConfig[];
}

export const DEFAULT_CONFIG_FILE = 'server-config.yaml';

/** The config file: `--config FILE` or a lone argument, else K8S_MANAGER_CONFIG, else ./server-config.yaml. */
export function configFileFrom(argv: string[], env: NodeJS.ProcessEnv): string {
  const flag = argv.findIndex((arg) => arg === '--config' || arg === '-c');
  const fromFlag = flag >= 0 ? argv[flag + 1] : argv.find((arg) => arg.startsWith('--config='))?.slice(9);
  const positional = argv.find((arg) => !arg.startsWith('-'));
  return resolve(fromFlag ?? positional ?? env.K8S_MANAGER_CONFIG ?? DEFAULT_CONFIG_FILE);
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv, processorTypes: ProcessorType[]): ServerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read configuration file ${file}: ${(error as Error).message}`);
  }
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (document.errors.length > 0) {
    throw new ConfigError(`${file} is not valid YAML:\n  ${document.errors.map((e) => e.message).join('\n  ')}`);
  }
  const raw: unknown = document.toJS() ?? {};
  const where = (path: string) => locate(file, document, lines, path);

  const ajv = createAjv();
  const validateFile = ajv.compile<ServerConfigFile>(serverConfigSchema);
  if (!validateFile(raw)) {
    const problems = (validateFile.errors ?? []).map((e) => `${where(pathOf(e))}: ${messageOf(e)}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }

  const resources = Object.entries(raw.resources).map(([id, resource]): ResourceConfig => {
    const options = resource.processor as Record<string, unknown>;
    const processorType = findProcessorType(processorTypes, String(options.name));
    const root = `/resources/${id}/processor`;
    if (!processorType) {
      const known = processorTypes.map((type) => type.name).join(', ');
      throw new ConfigError(`Invalid configuration:\n  ${where(`${root}/name`)}: unknown processor '${String(options.name)}'; known: ${known}`);
    }
    const validateOptions = ajv.compile(processorType.optionsSchema);
    if (!validateOptions(options)) {
      const problems = describeErrors(validateOptions.errors, root).map((line) => {
        if (!line.startsWith('/')) return line; // "and N more"
        const [path = '', ...rest] = line.split(': ');
        return `${where(path)}: ${rest.join(': ')}`;
      });
      throw new ConfigError(`Invalid configuration of process '${id}':\n  ${problems.join('\n  ')}`);
    }
    return { id, processorType, options };
  });

  const server = raw.server ?? {};
  const host = env.HOST || server.bind?.host || '127.0.0.1';
  const port = env.PORT !== undefined && env.PORT !== '' ? parsePort(env.PORT) : (server.bind?.port ?? 5000);
  const storePath = raw.manager?.local_store?.path ?? 'data/jobs.sqlite';
  const files = raw.manager?.files;
  const dataBucket = dataBucketFromEnv(env);
  const resolved = (path: string) => (isAbsolute(path) ? path : resolve(dirname(file), path));
  const filesPath = files?.path !== undefined ? resolved(files.path) : storePath === ':memory:' ? undefined : join(dirname(resolved(storePath)), 'job-files');
  const kubernetes = raw.manager?.kubernetes;
  // Made as compose.ts makes them, for the intake to check its mappings against their inputs and backend.
  const processOf = (id: string) => {
    const resource = resources.find((candidate) => candidate.id === id);
    return resource?.processorType.create(id, resource.options, { configDir: dirname(file) });
  };
  return {
    file,
    server: {
      url: (server.url ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, ''),
      host,
      port,
      maxBodyBytes: server.limits?.max_body_bytes ?? 1048576,
      maxBodyDepth: server.limits?.max_body_depth ?? 100,
      ...requestTimeouts(server.limits ?? {}, where),
      logLevel: env.LOG_LEVEL || (server.logging?.level ?? 'info'),
      title: server.title ?? 'ogcapi-k8s-manager',
      description: server.description ?? '',
    },
    manager: {
      localStorePath: storePath === ':memory:' ? storePath : resolved(storePath),
      files: {
        ...(filesPath ? { path: filesPath } : {}),
        ...(dataBucket ? { bucket: dataBucket } : {}),
        maxInlineBytes: files?.max_inline_bytes ?? 65536,
        linkTtlSeconds: files?.link_ttl_seconds ?? 3600,
        href: {
          settings: 'manager.files.href',
          allowedHosts: [...(files?.href?.allowed_hosts ?? [])],
          allowPrivateNetworks: files?.href?.allow_private_networks ?? false,
          timeoutSeconds: files?.href?.timeout_seconds ?? 30,
        },
      },
      syncWaitSeconds: raw.manager?.sync_wait_seconds ?? 60,
      notifications: notificationsConfig(raw.manager?.notifications ?? {}),
      kubernetes: {
        defaultTimeoutSeconds: kubernetes?.default_timeout_seconds ?? 3600,
        defaultTtlSecondsAfterFinished: kubernetes?.default_ttl_seconds_after_finished ?? 604800,
        stuckGraceSeconds: kubernetes?.stuck_grace_seconds ?? 300,
        maxInputsBytes: kubernetes?.max_inputs_bytes ?? 65536,
        resyncSeconds: kubernetes?.resync_seconds ?? 30,
        filesSweepSeconds: kubernetes?.files_sweep_seconds ?? 3600,
        ...(kubernetes?.stager ? { stager: { image: kubernetes.stager.image, ...(kubernetes.stager.image_pull_policy ? { imagePullPolicy: kubernetes.stager.image_pull_policy } : {}) } } : {}),
      },
      ...(raw.manager?.finalizer_controller ? { logArchive: logArchiveConfig(raw.manager.log_archive ?? {}, env) } : {}),
      ...(raw.manager?.intake && raw.manager.intake.enabled !== false ? { intake: intakeConfig(raw.manager.intake, env, processOf, where) } : {}),
    },
    resources,
  };
}

function notificationsConfig(section: NonNullable<NonNullable<ServerConfigFile['manager']>['notifications']>): NotificationsConfig {
  const ms = (seconds: number | undefined, fallback: number) => (seconds ?? fallback) * 1000;
  return {
    policy: { settings: 'manager.notifications', allowedHosts: [...(section.allowed_hosts ?? [])], allowPrivateNetworks: section.allow_private_networks ?? false },
    timeoutMs: ms(section.timeout_seconds, 10),
    maxAttempts: section.max_attempts ?? 10,
    deadlineMs: ms(section.deadline_seconds, 86400),
    initialBackoffMs: ms(section.initial_backoff_seconds, 2),
    maxBackoffMs: ms(section.max_backoff_seconds, 600),
    sweepMs: ms(section.sweep_seconds, 30),
  };
}

/** Node refuses a headers timeout longer than the request timeout; say so at start-up, with the line. */
function requestTimeouts(limits: { headers_timeout_seconds?: number; request_timeout_seconds?: number }, where: (path: string) => string) {
  const headersTimeoutSeconds = limits.headers_timeout_seconds ?? 20;
  const requestTimeoutSeconds = limits.request_timeout_seconds ?? 60;
  if (headersTimeoutSeconds > requestTimeoutSeconds) {
    throw new ConfigError(`Invalid configuration:\n  ${where('/server/limits/headers_timeout_seconds')}: must be at most request_timeout_seconds (${requestTimeoutSeconds})`);
  }
  return { headersTimeoutSeconds, requestTimeoutSeconds };
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`Environment variable PORT must be an integer from 0 to 65535, not '${value}'`);
  }
  return port;
}

/** "file:line /json/pointer" for a JSON pointer into the YAML document, as precisely as it exists. */
function locate(file: string, document: Document, lines: LineCounter, pointer: string): string {
  const segments = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  for (let depth = segments.length; depth >= 0; depth--) {
    const node = document.getIn(segments.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) {
      return `${file}:${lines.linePos(node.range[0]).line} ${pointer || '/'}`;
    }
  }
  return `${file} ${pointer || '/'}`;
}

function intakeConfig(section: NonNullable<NonNullable<ServerConfigFile['manager']>['intake']>, env: NodeJS.ProcessEnv, processOf: (id: string) => Process | undefined, where: (path: string) => string): IntakeConfig {
  const url = env[AMQP_URL_VARIABLE];
  if (!url) throw new ConfigError(`manager.intake is on, but the environment variable ${AMQP_URL_VARIABLE} is ${url === undefined ? 'not set' : 'empty'}: set it to the broker's amqp:// or amqps:// URL.`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    parsed = new URL('invalid:');
  }
  // The URL carries the credentials: a message names the variable, never its value.
  if (!['amqp:', 'amqps:'].includes(parsed.protocol) || !parsed.hostname) throw new ConfigError(`${AMQP_URL_VARIABLE} must be an amqp:// or amqps:// URL with a host.`);
  const names = new Set<string>();
  const queues = section.queues.map((queue, index): IntakeQueueConfig => {
    const deadLetterQueue = queue.dead_letter_queue ?? `${queue.name}.dead-letter`;
    for (const [name, field] of [[queue.name, 'name'], [deadLetterQueue, 'dead_letter_queue']] as const) {
      if (names.has(name)) throw new ConfigError(`Invalid configuration:\n  ${where(`/manager/intake/queues/${index}/${field}`)}: queue '${name}' is named twice`);
      names.add(name);
    }
    return { name: queue.name, deadLetterQueue, ...(queue.compatible ? { compatible: compatibleConfig(queue.compatible, processOf, (path) => where(`/manager/intake/queues/${index}/compatible/${path}`)) } : {}) };
  });
  return { url, host: parsed.host, runInServer: section.run_in_server ?? true, prefetch: section.prefetch ?? 16, replyLogBytes: section.reply_log_bytes ?? 65536, queues };
}

/**
 * A compatible mapping that cannot lose what a message sends: each target is an input of every process
 * the queue takes, the timeout field is no input too, and it bounds only processes that have a deadline.
 */
function compatibleConfig(section: NonNullable<NonNullable<NonNullable<ServerConfigFile['manager']>['intake']>['queues'][number]['compatible']>, processOf: (id: string) => Process | undefined, where: (path: string) => string): NonNullable<IntakeQueueConfig['compatible']> {
  const invalid = (path: string, reason: string) => new ConfigError(`Invalid configuration:\n  ${where(path)}: ${reason}`);
  const processes = section.processes.map((id, index) => {
    const process = processOf(id);
    if (!process) throw invalid(`processes/${index}`, `there is no process '${id}' under resources`);
    return process;
  });
  for (const [field, input] of Object.entries(section.inputs)) {
    const without = processes.find((process) => !Object.hasOwn(process.description.inputs, input));
    if (without) {
      const declared = Object.keys(without.description.inputs).join(', ') || 'none';
      throw invalid(`inputs/${field.replace(/~/g, '~0').replace(/\//g, '~1')}`, `'${input}' is not an input of process '${without.description.id}' (its inputs: ${declared})`);
    }
  }
  const timeoutField = section.timeout_field;
  if (timeoutField !== undefined) {
    if (Object.hasOwn(section.inputs, timeoutField)) throw invalid('timeout_field', `'${timeoutField}' is also mapped to an input under inputs: a field is either the timeout or an input`);
    // A pipeline that sends a timeout counts on it; a process run in the server has no deadline to honour it.
    const local = processes.find((process) => process.backend !== 'kubernetes');
    if (local) throw invalid('timeout_field', `process '${local.description.id}' runs in the server, where nothing bounds a job's time: a timeout field is only for processes run as Kubernetes Jobs`);
  }
  return { processes: [...section.processes], inputs: { ...section.inputs }, ...(timeoutField !== undefined ? { timeoutField } : {}) };
}

/** The archive settings; a missing bucket variable is a start-up error that names it (never a silent "off"). */
function logArchiveConfig(file: NonNullable<NonNullable<ServerConfigFile['manager']>['log_archive']>, env: NodeJS.ProcessEnv): LogArchiveConfig {
  return {
    bucket: bucketFromEnv(env, BUCKET_VARIABLE_PREFIX, 'manager.finalizer_controller is true, but', 'the log archive'),
    runInServer: file.run_in_server ?? true,
    leaseDurationSeconds: file.lease_duration_seconds ?? 15,
    maxRetrySeconds: file.max_retry_seconds ?? 60,
    resyncSeconds: file.resync_seconds ?? 60,
  };
}

/**
 * A bucket named by the environment variables `<prefix>ENDPOINT`, `KEY`, `SECRET`, `NAME`, `PATH_PREFIX`
 * (and optionally `REGION`); a missing one stops the start, naming it.
 */
function bucketFromEnv(env: NodeJS.ProcessEnv, prefix: string, because: string, user: string): BucketConfig {
  const variable = (name: string, required: boolean): string => {
    const key = `${prefix}${name}`;
    const value = env[key];
    if (required && !value) {
      throw new ConfigError(`${because} the environment variable ${key} is ${value === undefined ? 'not set' : 'empty'}: ${user} needs ENDPOINT, KEY, SECRET, NAME and PATH_PREFIX.`);
    }
    return value ?? '';
  };
  const endpoint = variable('ENDPOINT', true);
  if (!/^https?:\/\/[^/]/.test(endpoint)) {
    throw new ConfigError(`${prefix}ENDPOINT must be an http(s) URL, not '${endpoint}'.`);
  }
  const pathPrefix = variable('PATH_PREFIX', env[`${prefix}PATH_PREFIX`] === undefined);
  return {
    endpoint,
    accessKeyId: variable('KEY', true),
    secretAccessKey: variable('SECRET', true),
    bucket: variable('NAME', true),
    pathPrefix: pathPrefix === '' || pathPrefix.endsWith('/') ? pathPrefix : `${pathPrefix}/`,
    region: variable('REGION', false) || 'us-east-1',
  };
}

const DATA_BUCKET_VARIABLE_PREFIX = 'K8S_MANAGER_DATA_BUCKET_';

/** The data bucket for job files, when any K8S_MANAGER_DATA_BUCKET_* variable is set (then all must be). */
function dataBucketFromEnv(env: NodeJS.ProcessEnv): BucketConfig | undefined {
  const given = Object.keys(env).filter((key) => key.startsWith(DATA_BUCKET_VARIABLE_PREFIX) && env[key] !== undefined);
  if (given.length === 0) return undefined;
  const bucket = bucketFromEnv(env, DATA_BUCKET_VARIABLE_PREFIX, `${given[0]} is set, so job files go to a data bucket, but`, 'the data bucket');
  const publicEndpoint = env[`${DATA_BUCKET_VARIABLE_PREFIX}PUBLIC_ENDPOINT`];
  if (publicEndpoint === undefined) return bucket;
  if (!/^https?:\/\/[^/]/.test(publicEndpoint)) throw new ConfigError(`${DATA_BUCKET_VARIABLE_PREFIX}PUBLIC_ENDPOINT must be an http(s) URL, not '${publicEndpoint}'.`);
  return { ...bucket, publicEndpoint };
}
