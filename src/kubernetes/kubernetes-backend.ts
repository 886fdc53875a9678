import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { ArchiveUnavailable, ClusterRefusedJob, ClusterUnavailable, FilesUnavailable, InvalidParameter, LogsNotAvailable, NotReady, PayloadTooLarge } from '../errors.js';
import type { JobBackend, LogRequest, Submission } from '../jobs/backend.js';
import { JobIndex } from '../jobs/job-index.js';
import { MAX_PRESIGN_SECONDS, type S3JobFiles } from '../job-data/s3-job-files.js';
import { jobLogPrefix, type LogBucket } from '../log-archive/bucket.js';
import type { StagePlan } from '../staging/stage.js';
import { isFinished, sameNotificationState, type JobQuery, type JobRecord, type JobSlice, type NotificationKind, type NotificationState } from '../jobs/job.js';
import { BatchV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Job, type V1Pod } from './client-node.js';
import { apiClient, describeApiError, statusOf, type ClusterConnection } from './cluster.js';
import { isImageProcess, type ImageProcess } from './generic-image.js';
import { buildJob, type JobDefaults } from './job-spec.js';
import { containerStatuses, observeJob, oldestFirst, type ObservedJob } from './job-status.js';
import { ANNOTATIONS, LABELS, MAIN_CONTAINER, MANAGED_SELECTOR, notificationAnnotation } from './labels.js';
import { openPodLog, PodLogError } from './pod-logs.js';
import { WatchedObjects } from './watched-objects.js';

export interface KubernetesBackendOptions {
  defaults: JobDefaults;
  /** How long a job may wait on a bad image or an unschedulable pod before it is failed. */
  stuckGraceSeconds: number;
  /** Largest K8S_MANAGER_INPUTS value accepted (the env var and the annotation share this budget). */
  maxInputsBytes: number;
  /** How often unfinished jobs are re-derived, stuck jobs swept and unsaved results retried. */
  resyncSeconds: number;
  /** Where the log finalizer controller archives pod logs, when it is on. */
  archive?: { bucket: LogBucket; pathPrefix: string };
  /** The data bucket, for processes with file inputs or outputs (their pods stage through it). */
  files?: S3JobFiles;
  /** How often the data bucket is swept for the files of jobs whose Job is gone. */
  filesSweepSeconds: number;
}

/** A job's files are swept only once its note is this old: its Job, created just after, is surely seen by then. */
const SWEEP_GRACE_MS = 10 * 60 * 1000;

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/**
 * Jobs of image processes, as Kubernetes Jobs. The cluster is the database: every record is derived
 * from the Job, its pods and our annotations, read through watch-backed caches, so any number of
 * replicas agree and a restarted server finds every job again.
 */
export class KubernetesJobBackend implements JobBackend {
  readonly name = 'kubernetes';
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly namespace: string;
  private readonly kubeConfig: KubeConfig;
  private readonly jobs = new Map<string, V1Job>();
  private readonly pods = new Map<string, Map<string, V1Pod>>();
  private readonly observed = new Map<string, ObservedJob>();
  /** The records of `observed`, in list order. */
  private readonly index = new JobIndex();
  private readonly listeners: Array<(job: JobRecord) => void> = [];
  private readonly savingResults = new Set<string>();
  private readonly failing = new Set<string>();
  private readonly removing = new Set<string>();
  private readonly collecting = new Set<string>();
  /** Processes whose jobs have files in the data bucket, to remove with the job. */
  private readonly processesWithFiles = new Set<string>();
  private readonly jobWatch: WatchedObjects<V1Job>;
  private readonly podWatch: WatchedObjects<V1Pod>;
  private resync: NodeJS.Timeout | undefined;
  private filesSweep: NodeJS.Timeout | undefined;

  constructor(
    connection: ClusterConnection,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly options: KubernetesBackendOptions,
  ) {
    const { kubeConfig, namespace } = connection;
    this.namespace = namespace;
    this.kubeConfig = kubeConfig;
    this.batch = apiClient(kubeConfig, BatchV1Api);
    this.core = apiClient(kubeConfig, CoreV1Api);
    this.jobWatch = new WatchedObjects<V1Job>(
      kubeConfig,
      {
        path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
        listPage: (page) => this.batch.listNamespacedJob({ namespace, ...page }),
        labelSelector: MANAGED_SELECTOR,
        trim: trimJob,
      },
      logger.child({ watch: 'jobs' }),
      (job, deleted) => this.onJob(job, deleted),
    );
    this.podWatch = new WatchedObjects<V1Pod>(
      kubeConfig,
      {
        path: `/api/v1/namespaces/${namespace}/pods`,
        listPage: (page) => this.core.listNamespacedPod({ namespace, ...page }),
        labelSelector: MANAGED_SELECTOR,
        trim: trimPod,
      },
      logger.child({ watch: 'pods' }),
      (pod, deleted) => this.onPod(pod, deleted),
    );
  }

  /** Creates the env-file ConfigMaps, then fills the caches; resolves once both are watching. */
  async start(processes: ImageProcess[]): Promise<void> {
    for (const { description, spec } of processes) {
      if (Object.keys(spec.fileInputs).length + Object.keys(spec.fileOutputs).length > 0) this.processesWithFiles.add(description.id);
    }
    for (const process of processes) {
      for (const [name, data] of Object.entries(process.spec.envFileConfigMaps)) await this.applyConfigMap(name, data);
    }
    await Promise.all([this.podWatch.start(), this.jobWatch.start()]);
    this.resync = setInterval(() => this.reconcileAll(), this.options.resyncSeconds * 1000);
    this.resync.unref();
    if (this.options.files && this.processesWithFiles.size > 0) {
      void this.sweepFiles();
      this.filesSweep = setInterval(() => void this.sweepFiles(), this.options.filesSweepSeconds * 1000);
      this.filesSweep.unref();
    }
  }

  async submit({ jobID, process, inputs, response, outputs, subscriber, origin, timeoutSeconds }: Submission): Promise<JobRecord> {
    if (!isImageProcess(process)) throw new Error(`process '${process.description.id}' is not an image process`);
    const inputsBytes = Buffer.byteLength(JSON.stringify(inputs));
    if (inputsBytes > this.options.maxInputsBytes) {
      throw new PayloadTooLarge(`The inputs take ${inputsBytes} bytes as JSON; jobs of process '${process.description.id}' accept at most ${this.options.maxInputsBytes} (pass larger data by reference, e.g. a URL).`);
    }
    const staging = await this.stagingPlan(jobID, process, inputs);
    if (this.processesWithFiles.has(process.description.id)) {
      await this.options.files!.recordClusterJob(this.namespace, jobID).catch((error: unknown) => {
        throw new FilesUnavailable(`The job's files could not be noted in the data bucket, so no job was created: ${(error as Error).message}`);
      });
    }
    const body = buildJob(
      process.spec,
      { jobID, processID: process.description.id, inputs, response, ...(outputs ? { outputs } : {}), created: this.clock.now(), ...(staging ? { staging } : {}), ...(subscriber ? { subscriber } : {}), ...(origin ? { origin } : {}), ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) },
      this.options.defaults,
    );
    let created: V1Job;
    let refusal: string | undefined;
    try {
      ({ job: created, podSecurityRefusal: refusal } = await this.createJob(body));
    } catch (error) {
      this.logger.error({ processId: process.description.id, err: describeApiError(error) }, 'creating the Kubernetes Job failed');
      const status = statusOf(error);
      // A 4xx other than a conflict or too many requests is the API's answer to this Job, not a passing failure.
      const Failure = status !== undefined && status >= 400 && status < 500 && status !== 409 && status !== 429 ? ClusterRefusedJob : ClusterUnavailable;
      throw new Failure(`The job of process '${process.description.id}' could not be created: ${describeApiError(error)}`);
    }
    this.logger.info({ jobId: jobID, processId: process.description.id, job: created.metadata?.name }, 'Kubernetes Job created');
    // Recorded at once, so the job is found even before the watch reports it.
    this.onJob(trimJob(created), false);
    // The Job controller would retry its refused pods for ever, and the job would read "accepted".
    if (refusal) this.failStuck(jobID, created, `Failed: the namespace's Pod Security admission refuses its pods (set the process's security options to meet it): ${refusal}`);
    return this.observed.get(jobID)!.record;
  }

  /** Presigned URLs for the job's file inputs (read) and outputs (write), valid while the job may run. */
  private async stagingPlan(jobID: string, process: ImageProcess, inputs: Record<string, unknown>): Promise<StagePlan | undefined> {
    const { fileInputs, fileOutputs, s3Access } = process.spec;
    if (s3Access || Object.keys(fileInputs).length + Object.keys(fileOutputs).length === 0) return undefined;
    const files = this.options.files!; // checked at start-up
    const expires = Math.min(MAX_PRESIGN_SECONDS, (process.spec.timeoutSeconds ?? this.options.defaults.timeoutSeconds) + 3600);
    const plan: StagePlan = { inputs: {}, outputs: {} };
    for (const id of Object.keys(fileInputs).filter((name) => inputs[name] !== undefined)) plan.inputs[id] = await files.presign(jobID, 'inputs', id, { get: true }, expires);
    for (const [id, mediaType] of Object.entries(fileOutputs)) plan.outputs[id] = { url: await files.presign(jobID, 'outputs', id, { put: mediaType }, expires), mediaType };
    return plan;
  }

  /**
   * Creates the Job. A call that got no answer (the connection closed under it: an API server's GOAWAY,
   * a reset) may or may not have created it. The Job's name is this job's alone, so creating it again is
   * safe: AlreadyExists means an earlier attempt got through, and the Job is read back.
   * The answer warns when the namespace's Pod Security admission will refuse the Job's pods.
   */
  private async createJob(body: V1Job): Promise<{ job: V1Job; podSecurityRefusal?: string }> {
    const { namespace } = this;
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await this.batch.createNamespacedJobWithHttpInfo({ namespace, body });
        const refusal = warningsOf(answer.headers.warning).find((warning) => warning.startsWith('would violate PodSecurity'));
        return { job: answer.data, ...(refusal ? { podSecurityRefusal: refusal } : {}) };
      } catch (error) {
        // Read back by a LIST of the one name: the Role grants list on Jobs, not get (decision 0009).
        if (statusOf(error) === 409) {
          const found = await this.batch.listNamespacedJob({ namespace, fieldSelector: `metadata.name=${body.metadata!.name!}` });
          if (found.items[0]) return { job: found.items[0] };
        }
        if (statusOf(error) !== undefined || attempt === 2) throw error;
        this.logger.warn({ job: body.metadata?.name, err: describeApiError(error) }, 'a Job creation got no answer; sending it again by name');
      }
    }
  }

  async get(jobID: string): Promise<JobRecord | undefined> {
    return this.observed.get(jobID)?.record;
  }

  async list(query: JobQuery): Promise<JobSlice> {
    return this.index.slice(query);
  }

  async dismiss(jobID: string): Promise<JobRecord | undefined> {
    const current = this.observed.get(jobID)?.record;
    const job = this.jobs.get(jobID);
    if (!current || !job?.metadata?.name) return undefined;
    const name = job.metadata.name;
    if (isFinished(current.status)) {
      try {
        await this.deleteJob(name);
        await this.deletePods(jobID);
      } catch (error) {
        throw new ClusterUnavailable(`Job ${jobID} could not be removed: ${describeApiError(error)}`);
      }
      this.forget(jobID);
      await this.removeFiles(jobID, current.processID);
      this.logger.info({ jobId: jobID }, 'finished job removed');
      return { ...current, status: 'dismissed', message: current.status === 'dismissed' ? current.message! : 'Dismissed and removed' };
    }
    // Suspending stops the Job controller from making pods and deletes the active ones.
    let patched: V1Job;
    try {
      patched = await this.batch.patchNamespacedJob(
        { namespace: this.namespace, name, body: { metadata: { annotations: { [ANNOTATIONS.dismissed]: new Date(this.clock.now()).toISOString() } }, spec: { suspend: true } } },
        mergePatch,
      );
      await this.deletePods(jobID);
    } catch (error) {
      if (statusOf(error) === 404) {
        this.forget(jobID); // removed meanwhile (retention, another replica)
        return undefined;
      }
      throw new ClusterUnavailable(`Job ${jobID} could not be dismissed: ${describeApiError(error)}`);
    }
    this.logger.info({ jobId: jobID }, 'job dismissed');
    // A stopping sidecar may still send an output after this; the Job's deletion removes the files again.
    await this.removeFiles(jobID, current.processID, { forget: false });
    this.onJob(trimJob(patched), false);
    return this.observed.get(jobID)?.record;
  }

  async openLogs(jobID: string, { container = MAIN_CONTAINER, follow, signal }: LogRequest): Promise<Readable | undefined> {
    if (!this.jobs.has(jobID)) return undefined;
    const pod = oldestFirst(this.pods.get(jobID)?.values() ?? []).pop();
    if (pod?.metadata?.name) {
      const statuses = containerStatuses(pod);
      const status = statuses.find((candidate) => candidate.name === container);
      if (statuses.length > 0 && !status) {
        throw new InvalidParameter(`Job ${jobID} has no container '${container}'; its containers: ${statuses.map((s) => s.name).join(', ')}.`);
      }
      if (!status?.state?.running && !status?.state?.terminated && !status?.lastState?.terminated) {
        throw new LogsNotAvailable(`Container '${container}' of job ${jobID} has not started yet; its log exists once it runs.`);
      }
      try {
        return await openPodLog(this.kubeConfig, this.namespace, pod.metadata.name, container, { follow, signal });
      } catch (error) {
        // A pod deleted since the cache saw it: its log is in the archive, if anywhere.
        if (!(error instanceof PodLogError) || error.status !== 404) throw new ClusterUnavailable(`The log of job ${jobID} could not be read: ${(error as Error).message}`);
      }
    }
    return this.archivedLog(jobID, container);
  }

  private async archivedLog(jobID: string, container: string): Promise<Readable> {
    const { archive } = this.options;
    if (!archive) throw new LogsNotAvailable(`The pod of job ${jobID} is gone, and this server does not archive logs (manager.finalizer_controller is off).`);
    try {
      const keys = await archive.bucket.keys(jobLogPrefix(archive.pathPrefix, jobID));
      const key = keys.filter((candidate) => candidate.endsWith(`/${container}.log`)).pop();
      const log = key ? await archive.bucket.read(key) : undefined;
      if (!log) {
        const archived = keys.map((candidate) => candidate.split('/').pop()!.replace(/\.log$/, ''));
        throw new LogsNotAvailable(`No log of container '${container}' of job ${jobID} is archived${archived.length ? ` (archived: ${[...new Set(archived)].join(', ')})` : ' (yet)'}.`);
      }
      return log;
    } catch (error) {
      if (error instanceof LogsNotAvailable) throw error;
      throw new ArchiveUnavailable(`The archived log of job ${jobID} could not be read: ${(error as Error).message}`);
    }
  }

  /**
   * A JSON patch that first tests the annotation for the value this replica saw: of several replicas
   * writing at once, the API server lets exactly one through, and the others' tests fail (422).
   */
  async recordNotification(jobID: string, kind: NotificationKind, expected: NotificationState, next: NotificationState): Promise<boolean> {
    const job = this.jobs.get(jobID);
    const key = notificationAnnotation(kind);
    const seen = job?.metadata?.annotations?.[key];
    if (!job?.metadata?.name || seen === undefined || !sameNotificationState(parseState(seen), expected)) return false;
    const path = `/metadata/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    try {
      const patched = await this.batch.patchNamespacedJob(
        { namespace: this.namespace, name: job.metadata.name, body: [{ op: 'test', path, value: seen }, { op: 'replace', path, value: JSON.stringify(next) }] },
        jsonPatch,
      );
      this.onJob(trimJob(patched), false);
      return true;
    } catch (error) {
      if ([404, 409, 422].includes(statusOf(error) ?? 0)) return false; // another replica wrote first, or the Job is gone
      throw new ClusterUnavailable(`The notification state of job ${jobID} could not be written: ${describeApiError(error)}`);
    }
  }

  async withNotifications(finishedSince: number): Promise<JobRecord[]> {
    return [...this.observed.values()].map(({ record }) => record).filter((record) => record.notifications && (record.finished === undefined || record.finished >= finishedSince));
  }

  subscribe(listener: (job: JobRecord) => void): void {
    this.listeners.push(listener);
  }

  /** How often each watch was restarted after a failure, since this server started. */
  watchRestarts(): Record<string, number> {
    return { jobs: this.jobWatch.restarts, pods: this.podWatch.restarts };
  }

  async checkReady(): Promise<void> {
    const problem = this.jobWatch.problem() ?? this.podWatch.problem();
    if (problem) throw new NotReady(`The Kubernetes cache is not current: ${problem}`);
  }

  async close(): Promise<void> {
    clearInterval(this.resync);
    clearInterval(this.filesSweep);
    await Promise.all([this.jobWatch.stop(), this.podWatch.stop()]);
  }

  private onJob(job: V1Job, deleted: boolean): void {
    const jobID = job.metadata?.labels?.[LABELS.jobId];
    if (!jobID) return;
    if (deleted) {
      this.forget(jobID);
      // Retention or removal: the job's files go with it (every replica tries; deleting twice is harmless).
      void this.removeFiles(jobID, job.metadata?.labels?.[LABELS.processId]);
      return;
    }
    const known = this.jobs.get(jobID);
    // The watch may deliver an older version than the one a patch or create returned.
    if (known && Number(known.metadata?.resourceVersion) > Number(job.metadata?.resourceVersion)) return;
    this.jobs.set(jobID, job);
    this.reconcile(jobID);
  }

  private onPod(pod: V1Pod, deleted: boolean): void {
    const jobID = pod.metadata?.labels?.[LABELS.jobId];
    const name = pod.metadata?.name;
    if (!jobID || !name) return;
    let pods = this.pods.get(jobID);
    if (deleted) {
      pods?.delete(name);
      if (pods?.size === 0) this.pods.delete(jobID);
    } else {
      if (!pods) this.pods.set(jobID, (pods = new Map()));
      pods.set(name, pod);
    }
    this.reconcile(jobID);
  }

  private forget(jobID: string): void {
    this.jobs.delete(jobID);
    this.observed.delete(jobID);
    this.index.delete(jobID);
  }

  /**
   * The periodic sweep: a finished job changes only when its objects do, and every change arrives as a
   * watch event, so only unfinished jobs (whose stuck grace runs out with time) and results still to
   * be copied are re-derived, and stopped Jobs checked for their time to live; with thousands of
   * finished jobs the sweep stays short.
   */
  private reconcileAll(): void {
    for (const [jobID, { record, unsavedResults }] of this.observed) {
      if (!isFinished(record.status) || unsavedResults !== undefined) this.reconcile(jobID);
      else if (this.jobs.get(jobID)?.spec?.suspend) this.expireSuspended(jobID, record);
    }
  }

  /**
   * A Job this server stopped (dismissed while it ran, or failed because it could not start) stays
   * suspended, and Kubernetes' TTL never removes an unfinished Job: it is deleted here once its time
   * to live has passed since it ended (its files go with it).
   */
  private expireSuspended(jobID: string, record: JobRecord): void {
    const job = this.jobs.get(jobID);
    const ttlSeconds = job?.spec?.ttlSecondsAfterFinished;
    if (!job?.metadata?.name || ttlSeconds === undefined || record.finished === undefined || this.removing.has(jobID)) return;
    if (this.clock.now() < record.finished + ttlSeconds * 1000) return;
    this.removing.add(jobID);
    this.deleteJob(job.metadata.name)
      .then(() => this.logger.info({ jobId: jobID, status: record.status }, 'stopped job removed after its time to live'))
      .catch((error: unknown) => this.logger.warn({ jobId: jobID, err: describeApiError(error) }, 'removing a stopped job failed; the next sweep retries'))
      .finally(() => this.removing.delete(jobID));
  }

  /**
   * Removes the files of Kubernetes jobs whose Job is gone: deleted while no server watched, or left by
   * a submission that never created its Job. Only from a current cache, and only notes past the grace.
   */
  private async sweepFiles(): Promise<void> {
    const files = this.options.files!;
    try {
      for await (const { jobID, since } of files.clusterJobs(this.namespace)) {
        if (this.jobWatch.problem() || this.jobs.has(jobID) || this.clock.now() - since < SWEEP_GRACE_MS) continue;
        await files.forgetClusterJob(this.namespace, jobID);
        this.logger.info({ jobId: jobID }, 'files of a job whose Job is gone removed');
      }
    } catch (error) {
      this.logger.warn({ err: String(error) }, 'sweeping the data bucket failed; the next sweep retries');
    }
  }

  /** Re-derives one job's record from the cluster's state, then acts on what it shows. */
  private reconcile(jobID: string): void {
    const job = this.jobs.get(jobID);
    if (!job) return;
    const observed = observeJob(job, [...(this.pods.get(jobID)?.values() ?? [])], this.clock.now());
    const before = this.observed.get(jobID)?.record;
    this.observed.set(jobID, observed);
    this.index.set(observed.record);
    if (!before || before.status !== observed.record.status || before.message !== observed.record.message || before.started !== observed.record.started) {
      for (const listener of this.listeners) listener(observed.record);
    }
    if (observed.unsavedResults !== undefined) this.saveResults(jobID, job, observed.unsavedResults);
    if (observed.uncollectedFiles) this.collectFiles(jobID, job, observed.uncollectedFiles);
    if (observed.stuck && this.clock.now() - observed.stuck.since > this.options.stuckGraceSeconds * 1000) {
      this.failStuck(jobID, job, `Failed: could not start within ${this.options.stuckGraceSeconds} s: ${observed.stuck.reason}: ${observed.stuck.message}`);
    }
  }

  /** Copies the outputs onto the Job, so they outlive the pod (pods go away before their Job). */
  private saveResults(jobID: string, job: V1Job, results: string): void {
    if (this.savingResults.has(jobID)) return;
    this.savingResults.add(jobID);
    this.patchJob(job, { metadata: { annotations: { [ANNOTATIONS.results]: results } } }, 'saving results')
      .finally(() => this.savingResults.delete(jobID));
  }

  /**
   * Removes the job's files from the data bucket: with its note once the Job is gone (`forget`), else
   * only the files. A failure is logged; the files sweep retries.
   */
  private async removeFiles(jobID: string, processID = this.observed.get(jobID)?.record.processID, { forget = true } = {}): Promise<void> {
    const { files } = this.options;
    if (!files || !processID || !this.processesWithFiles.has(processID)) return;
    await (forget ? files.forgetClusterJob(this.namespace, jobID) : files.removeJob(jobID)).catch((error: unknown) => this.logger.warn({ jobId: jobID, err: String(error) }, 'removing the job\'s files failed'));
  }

  /**
   * Looks for the completed job's file outputs in the bucket: all there, they are recorded on the Job;
   * one missing, the job is failed naming it (the container ended well but did not leave it in /outputs).
   */
  private collectFiles(jobID: string, job: V1Job, declared: Record<string, string>): void {
    if (this.collecting.has(jobID) || !this.options.files) return;
    this.collecting.add(jobID);
    const files = this.options.files;
    Promise.all(Object.keys(declared).map(async (id) => [id, await files.stat(jobID, 'outputs', id)] as const))
      .then((found) => {
        const missing = found.filter(([, file]) => !file).map(([id]) => id);
        if (missing.length > 0) {
          const message = `Failed: the container succeeded, but left no ${missing.map((id) => `/outputs/${id}`).join(', ')} (output${missing.length > 1 ? 's' : ''} ${missing.map((id) => `'${id}'`).join(', ')})`;
          return this.patchJob(job, { metadata: { annotations: { [ANNOTATIONS.failure]: message } } }, 'failing a job without its output files');
        }
        // served as the process declared it, not as whatever type the pod's upload claimed
        const files = Object.fromEntries(found.map(([id, file]) => [id, { size: file!.size, mediaType: declared[id]! }]));
        return this.patchJob(job, { metadata: { annotations: { [ANNOTATIONS.files]: JSON.stringify(files) } } }, 'recording output files');
      })
      .catch((error: unknown) => this.logger.warn({ jobId: jobID, err: String(error) }, 'looking for output files failed; the next resync retries'))
      .finally(() => this.collecting.delete(jobID));
  }

  private failStuck(jobID: string, job: V1Job, message: string): void {
    if (this.failing.has(jobID)) return;
    this.failing.add(jobID);
    this.logger.warn({ jobId: jobID, reason: message }, 'failing a job that cannot start');
    this.patchJob(job, { metadata: { annotations: { [ANNOTATIONS.failure]: message } }, spec: { suspend: true } }, 'failing a stuck job')
      .then(() => this.deletePods(jobID))
      .catch((error: unknown) => this.logger.warn({ jobId: jobID, err: describeApiError(error) }, 'removing the pods of a stuck job failed'))
      .finally(() => this.failing.delete(jobID));
  }

  /** Patches a Job; conflicts and vanished Jobs are left to the next reconcile. */
  private async patchJob(job: V1Job, body: object, what: string): Promise<void> {
    try {
      const patched = await this.batch.patchNamespacedJob({ namespace: this.namespace, name: job.metadata!.name!, body }, mergePatch);
      this.onJob(trimJob(patched), false);
    } catch (error) {
      if (statusOf(error) !== 404) this.logger.warn({ job: job.metadata?.name, err: describeApiError(error) }, `${what} failed; the next resync retries`);
    }
  }

  private async deletePods(jobID: string): Promise<void> {
    await this.core.deleteCollectionNamespacedPod({ namespace: this.namespace, labelSelector: `${LABELS.jobId}=${jobID}` });
  }

  /** Deletes a Job and, in the background, its pods; one already gone is fine. */
  private deleteJob(name: string): Promise<void> {
    return this.ignoreNotFound(this.batch.deleteNamespacedJob({ namespace: this.namespace, name, propagationPolicy: 'Background' }));
  }

  private async ignoreNotFound(call: Promise<unknown>): Promise<void> {
    try {
      await call;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  private async applyConfigMap(name: string, data: Record<string, string>): Promise<void> {
    const body = { metadata: { name, labels: { [LABELS.managedBy]: 'ogcapi-k8s-manager' } }, data };
    try {
      await this.core.replaceNamespacedConfigMap({ namespace: this.namespace, name, body });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      await this.core.createNamespacedConfigMap({ namespace: this.namespace, body });
    }
    this.logger.info({ configMap: name }, 'env file applied as ConfigMap');
  }
}

// A Job's pod template (which carries the inputs) and the managedFields of both are never read here,
// and they are most of each object's size.

/** The texts of an HTTP Warning header (RFC 7234: `299 - "text"`, several joined by commas). */
function warningsOf(header: string | undefined): string[] {
  return [...(header ?? '').matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((match) => match[1]!.replace(/\\(.)/g, '$1'));
}

function parseState(text: string): NotificationState | undefined {
  try {
    return JSON.parse(text) as NotificationState;
  } catch {
    return undefined;
  }
}

function trimJob(job: V1Job): V1Job {
  if (job.metadata) delete job.metadata.managedFields;
  if (job.spec) {
    const { activeDeadlineSeconds, suspend, ttlSecondsAfterFinished } = job.spec;
    job.spec = {
      template: {},
      ...(activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds } : {}),
      ...(suspend !== undefined ? { suspend } : {}),
      ...(ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished } : {}),
    };
  }
  return job;
}

function trimPod(pod: V1Pod): void {
  if (pod.metadata) delete pod.metadata.managedFields;
  delete pod.spec;
}
