// The composition root: configuration → services → app. The only place that decides which
// implementation stands behind each interface.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import { ConfigError, JobFailed, OutputTooLarge } from './errors.js';
import type { LogArchiveConfig, ServerConfig } from './config/load.js';
import { Representations } from './http/representations.js';
import { resultsDocument } from './http/results.js';
import { FileInputs } from './job-data/file-inputs.js';
import { DiskJobFiles } from './job-data/job-files.js';
import { S3JobFiles } from './job-data/s3-job-files.js';
import { linkKey, SignedLinks } from './job-data/signed-links.js';
import type { JobBackend } from './jobs/backend.js';
import { connectToBroker } from './intake/broker.js';
import { QueueIntake } from './intake/consumer.js';
import { AmqpReplySender } from './intake/reply-sender.js';
import { replyLog, type ReplyLogOptions } from './intake/reply-log.js';
import { LocalJobBackend } from './jobs/local-backend.js';
import { JobManager } from './jobs/manager.js';
import { createMemoryJobStore } from './jobs/memory-store.js';
import { openSqliteJobStore } from './jobs/sqlite-store.js';
import type { JobStore } from './jobs/store.js';
import { connectToCluster, type ClusterConnection } from './kubernetes/cluster.js';
import { genericImageProcessorType, isImageProcess } from './kubernetes/generic-image.js';
import { KubernetesJobBackend } from './kubernetes/kubernetes-backend.js';
import { S3LogBucket, type LogBucket } from './log-archive/bucket.js';
import { LogArchiveController } from './log-archive/controller.js';
import { ServerMetrics } from './metrics/server-metrics.js';
import { Notifier, type NotificationPayloads, type NotificationSenders } from './notifications/notifier.js';
import { LiveJobs } from './pages/live-jobs.js';
import { LiveLogs } from './pages/live-logs.js';
import { LOG_PAGE_BYTES } from './pages/routes.js';
import { HttpCallbackSender } from './notifications/sender.js';
import { InputValidator } from './processes/inputs.js';
import type { Process } from './processes/process.js';
import { localProcessorTypes, type ProcessorType } from './processes/processor-types.js';
import { ProcessRegistry } from './processes/registry.js';
import type { Services } from './services.js';
import { createAjv } from './validation/ajv.js';

/** How many browsers may follow the jobs live at once, how often their streams get a keep-alive, how much a slow one may lag. */
const LIVE_JOBS = { maxViewers: 200, keepAliveMs: 15_000, maxBufferedBytes: 1024 * 1024 };
// As much of a log's end as a job's page shows.
const LIVE_LOGS = { tailChars: LOG_PAGE_BYTES, retryMs: 2000, maxRetryMs: 15_000 };

/**
 * How long a reply waits for its job's log: within the margin the notifier's claim keeps beyond the
 * send's own timeout (5 s), so a slow log never lets the claim run out and a second replica answer too.
 */
const REPLY_LOG_TIMEOUT_MS = 4000;

/** Every processor a configuration may name. */
export const processorTypes: ProcessorType[] = [...localProcessorTypes, genericImageProcessorType];

export interface Overrides {
  clock?: Clock;
  /** A store for the local jobs other than the configured SQLite file (tests). */
  localStore?: JobStore;
  /** The cluster to use instead of the one the environment names (tests). */
  cluster?: ClusterConnection;
  /**
   * 'intake': the queue intake as its own process (src/intake-main.ts): it takes requests for image
   * processes only (local jobs live in the server's store), sends only the replies, and leaves the log
   * archive and the callbacks to the servers.
   */
  role?: 'server' | 'intake';
}

export async function buildServices(config: ServerConfig, env: NodeJS.ProcessEnv, logger: Logger, overrides: Overrides = {}): Promise<Services> {
  const clock = overrides.clock ?? systemClock;
  const alone = overrides.role === 'intake';
  const ajv = createAjv();
  let processes: Process[] = config.resources.map((resource) => resource.processorType.create(resource.id, resource.options, { configDir: dirname(config.file) }));
  const { files } = config.manager;
  // With no folder configured (a store in memory), files live as long as the server: a temporary folder.
  const jobFiles = files.bucket ? new S3JobFiles(files.bucket) : new DiskJobFiles(files.path ?? mkdtempSync(join(tmpdir(), 'ogcapi-job-files-')));
  const outputFiles = processes.filter((process) => isImageProcess(process) && Object.keys(process.spec.fileOutputs).length > 0);
  if (alone && outputFiles.length > 0 && !env.K8S_MANAGER_LINK_KEY && !files.bucket?.publicEndpoint) {
    // Its replies' links would be signed with a key of its own, which no API server shares: every one would be refused.
    throw new ConfigError(
      `The queue intake runs alone and process${outputFiles.length > 1 ? 'es' : ''} ${outputFiles.map((p) => `'${p.description.id}'`).join(', ')} return${outputFiles.length > 1 ? '' : 's'} files: set K8S_MANAGER_LINK_KEY to the API servers' key (or K8S_MANAGER_DATA_BUCKET_PUBLIC_ENDPOINT), so the links in its replies work.`,
    );
  }
  if (files.bucket && !env.K8S_MANAGER_LINK_KEY) {
    logger.warn('job files are in a data bucket, but K8S_MANAGER_LINK_KEY is not set: links to them work only through this replica');
  }
  const links = new SignedLinks(linkKey(env, files.path && join(files.path, '.link-key')), clock, files.linkTtlSeconds, config.server.url);
  const backends: JobBackend[] = [
    new LocalJobBackend(overrides.localStore ?? (alone ? createMemoryJobStore() : openSqliteJobStore(config.manager.localStorePath)), jobFiles, clock, logger),
  ];

  let logArchive: LogArchiveController | undefined;
  const watchRestarts: Array<() => Record<string, number>> = [];
  const imageProcesses = processes.filter(isImageProcess);
  if (imageProcesses.length > 0) {
    const cluster = overrides.cluster ?? connectToCluster(env);
    if (cluster) {
      const { kubernetes, logArchive: archive } = config.manager;
      // One S3 client for the logs endpoint and the controller alike.
      const bucket = archive ? new S3LogBucket(archive.bucket) : undefined;
      const withFiles = imageProcesses.filter((process) => Object.keys(process.spec.fileInputs).length + Object.keys(process.spec.fileOutputs).length > 0 || process.spec.s3Access);
      const staged = withFiles.filter((process) => !process.spec.s3Access).map((p) => p.description.id);
      if ((withFiles.length > 0 && !(jobFiles instanceof S3JobFiles)) || (staged.length > 0 && !kubernetes.stager)) {
        const ids = withFiles.map((p) => p.description.id);
        throw new ConfigError(
          `process${ids.length > 1 ? 'es' : ''} ${ids.map((id) => `'${id}'`).join(', ')} ${ids.length > 1 ? 'take or return' : 'takes or returns'} files, which their pods stage through a data bucket: set the K8S_MANAGER_DATA_BUCKET_* variables${staged.length ? ' and manager.kubernetes.stager.image (this server\'s image)' : ''}.`,
        );
      }
      const backend = new KubernetesJobBackend(cluster, logger.child({ backend: 'kubernetes' }), clock, {
        defaults: {
          timeoutSeconds: kubernetes.defaultTimeoutSeconds,
          ttlSecondsAfterFinished: kubernetes.defaultTtlSecondsAfterFinished,
          archiveLogs: archive !== undefined,
          ...(kubernetes.stager ? { stager: kubernetes.stager } : {}),
          // where the bucket is, never its credentials: those reach a pod only from a Secret
          ...(files.bucket ? { dataBucket: { endpoint: files.bucket.endpoint, region: files.bucket.region, bucket: files.bucket.bucket, pathPrefix: files.bucket.pathPrefix } } : {}),
        },
        ...(jobFiles instanceof S3JobFiles ? { files: jobFiles } : {}),
        stuckGraceSeconds: kubernetes.stuckGraceSeconds,
        maxInputsBytes: kubernetes.maxInputsBytes,
        resyncSeconds: kubernetes.resyncSeconds,
        filesSweepSeconds: kubernetes.filesSweepSeconds,
        ...(bucket && archive ? { archive: { bucket, pathPrefix: archive.bucket.pathPrefix } } : {}),
      });
      await backend.start(imageProcesses);
      backends.unshift(backend); // asked first for a job: its records are in memory, SQLite's are not
      watchRestarts.push(() => backend.watchRestarts());
      logger.info({ cluster: cluster.source, namespace: cluster.namespace, logArchive: archive ? (archive.runInServer ? 'in this server' : 'separate controller') : 'off' }, 'running image processes as Kubernetes Jobs');
      if (archive?.runInServer && !alone) {
        const controller = buildLogArchiveController(cluster, archive, clock, logger, bucket);
        watchRestarts.push(() => ({ 'log-archive-pods': controller.metrics().watchRestarts }));
        controller.start();
        logArchive = controller;
      }
    } else {
      logger.warn({ processes: imageProcesses.map((p) => p.description.id) }, 'no Kubernetes cluster configured (KUBECONFIG, in-cluster service account or ~/.kube/config): image processes are not offered');
      processes = processes.filter((process) => !isImageProcess(process));
    }
  }
  if (processes.some((process) => process.requiresToken) && !env.K8S_MANAGER_API_TOKEN) {
    logger.warn('K8S_MANAGER_API_TOKEN is not set: protected processes (check_auth) refuse to run until it is');
  }

  const registry = new ProcessRegistry(processes);
  const jobs = new JobManager(
    registry,
    backends,
    // The first error of each input value: allErrors would make an error object per bad item of an array.
    new InputValidator(createAjv({ allErrors: false })),
    clock,
    { syncWaitSeconds: config.manager.syncWaitSeconds, apiToken: env.K8S_MANAGER_API_TOKEN, maxInlineBytes: files.maxInlineBytes, subscriberPolicy: config.manager.notifications.policy },
    ajv,
    { files: jobFiles, links, inputs: new FileInputs(jobFiles, files.href, files.href.timeoutSeconds * 1000) },
  );
  const representations = new Representations(config.server.url);
  const { notifications } = config.manager;
  const intakeConfig = config.manager.intake && (alone || config.manager.intake.runInServer) ? config.manager.intake : undefined;
  const broker = intakeConfig && connectToBroker(intakeConfig, logger.child({ component: 'intake' }));
  const senders: NotificationSenders = {
    ...(alone ? {} : { callback: new HttpCallbackSender(notifications.policy, notifications.timeoutMs) }),
    ...(broker ? { reply: new AmqpReplySender(broker) } : {}),
  };
  const notifier = new Notifier(jobs, notificationPayloads(jobs, representations, { maxBytes: intakeConfig?.replyLogBytes ?? 0, timeoutMs: REPLY_LOG_TIMEOUT_MS, ...(env.K8S_MANAGER_API_TOKEN ? { secret: env.K8S_MANAGER_API_TOKEN } : {}) }), senders, clock, logger.child({ component: 'notifications' }), notifications);
  const metrics = new ServerMetrics({ jobCounts: () => jobs.countByStatus(), watchRestarts, ...(logArchive ? { logArchive: logArchive.metrics.bind(logArchive) } : {}), ...(broker ? { intake: () => intake?.metrics ?? { taken: 0, deadLettered: 0, requeued: 0 } } : {}) });
  jobs.onJobSubmitted((job) => metrics.jobSubmitted(job));
  jobs.onJobChange((job) => metrics.jobChanged(job));
  notifier.onDelivery((kind, settled) => metrics.callbackAttempted(kind, settled));
  notifier.start();
  let intake: QueueIntake | undefined;
  if (intakeConfig && broker) {
    intake = new QueueIntake(
      broker,
      intakeConfig,
      jobs,
      {
        limits: { maxBytes: config.server.maxBodyBytes, maxDepth: config.server.maxBodyDepth },
        imageOf: (id) => {
          const process = registry.find(id);
          return process && isImageProcess(process) ? process.spec.image : undefined;
        },
        refusal: (id) => {
          const process = registry.find(id);
          return alone && process && !isImageProcess(process) ? `Process '${id}' runs inside the API server; this intake runs alone (manager.intake.run_in_server: false) and takes requests for image processes only.` : undefined;
        },
      },
      logger.child({ component: 'intake' }),
    );
    intake.start();
  }
  return {
    config,
    logger,
    clock,
    ...(logArchive ? { logArchive } : {}),
    registry,
    jobs,
    notifier,
    metrics,
    ...(intake ? { intake } : {}),
    representations,
    queryAjv: createAjv({ coerceTypes: true }),
    liveJobs: new LiveJobs(jobs, representations, new LiveLogs(jobs, LIVE_LOGS), LIVE_JOBS),
  };
}

/** What callbacks carry, per Part 1: the statusInfo while the job runs, the results document, the exception. */
function notificationPayloads(jobs: JobManager, representations: Representations, replyLogOptions: ReplyLogOptions): NotificationPayloads {
  return {
    inProgress: async (job) => representations.statusInfo(job),
    success: async (job) => resultsDocument((await jobs.results(job.jobID, { filesByReference: true })).outputs),
    failed: async (job) => {
      const failure = new JobFailed(job.message ?? 'The job failed.');
      return { type: failure.type, title: failure.title, status: failure.status, detail: failure.message, instance: representations.url(`/jobs/${job.jobID}`) };
    },
    // The answer to a queued request: its statusInfo, the results document (outputs by value or by
    // reference as the request asked; by reference when too large to inline), and the tail of its log.
    reply: async (job) => {
      const statusInfo = representations.statusInfo(job);
      const log =
        replyLogOptions.maxBytes > 0 ? await replyLog((request) => jobs.logs(job.jobID, request), representations.url(`/jobs/${encodeURIComponent(job.jobID)}/logs`), replyLogOptions) : {};
      if (job.status !== 'successful') return { statusInfo, ...log };
      const results = await jobs.results(job.jobID).catch((error: unknown) => {
        if (error instanceof OutputTooLarge) return jobs.results(job.jobID, { filesByReference: true });
        throw error;
      });
      return { statusInfo, results: resultsDocument(results.outputs), ...log };
    },
  };
}

/** The log finalizer controller, inside the server or as its own process (src/controller-main.ts). */
export function buildLogArchiveController(cluster: ClusterConnection, archive: LogArchiveConfig, clock: Clock, logger: Logger, bucket: LogBucket = new S3LogBucket(archive.bucket)): LogArchiveController {
  return new LogArchiveController(
    cluster,
    bucket,
    {
      pathPrefix: archive.bucket.pathPrefix,
      // The pod name in a cluster; the pid and a random suffix keep two processes on one host apart.
      identity: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
      leaseDurationSeconds: archive.leaseDurationSeconds,
      maxRetrySeconds: archive.maxRetrySeconds,
      resyncSeconds: archive.resyncSeconds,
    },
    clock,
    logger.child({ component: 'log-archive' }),
  );
}
