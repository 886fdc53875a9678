// Every failure a client can cause or see is one of these classes. The HTTP layer maps them to
// application/problem+json in one place (src/http/problem.ts); the domain never speaks HTTP status
// codes directly, it only picks the kind of failure.

const OGC = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0';
// Failures that the standard does not name get a type of our own, documented in docs/.
const OURS = 'urn:ogcapi-k8s-manager:problem';

/** A name a client chose, as a problem document repeats it: cut short, so that a huge name cannot make a huge answer. */
export function shortName(name: string, max = 80): string {
  return name.length > max ? `${name.slice(0, max)}…` : name;
}

export abstract class ProblemError extends Error {
  abstract readonly status: number;
  abstract readonly type: string;
  abstract readonly title: string;
  /** Extra members of the problem document, e.g. the list of bad inputs. */
  readonly extensions: Record<string, unknown> = {};
  readonly headers: Record<string, string> = {};
}

export class NoSuchProcess extends ProblemError {
  readonly status = 404;
  readonly type = `${OGC}/no-such-process`;
  readonly title = 'No such process';
  constructor(processId: string) {
    super(`There is no process '${processId}'. GET /processes lists the processes this server offers.`);
  }
}

export class NoSuchJob extends ProblemError {
  readonly status = 404;
  readonly type = `${OGC}/no-such-job`;
  readonly title = 'No such job';
  constructor(jobId: string) {
    super(`There is no job '${jobId}'. It never existed or was dismissed and removed.`);
  }
}

export class ResultNotReady extends ProblemError {
  readonly status = 404;
  readonly type = `${OGC}/result-not-ready`;
  readonly title = 'Result not ready';
}

export class JobFailed extends ProblemError {
  readonly status = 500;
  readonly type = `${OURS}:job-failed`;
  readonly title = 'Job failed';
}

export interface InputProblem {
  input: string;
  problem: string;
}

/** How many problems one answer lists; the others are only counted. */
export const MAX_LISTED_PROBLEMS = 20;

/**
 * Collects the problems of a request, keeping the first MAX_LISTED_PROBLEMS and counting the rest,
 * so that an answer stays small however many problems a request holds.
 */
export class ProblemList<T> {
  readonly listed: T[] = [];
  total = 0;

  static of<T>(problems: Iterable<T>): ProblemList<T> {
    const list = new ProblemList<T>();
    for (const problem of problems) list.add(problem);
    return list;
  }

  add(problem: T): void {
    this.total += 1;
    if (this.listed.length < MAX_LISTED_PROBLEMS) this.listed.push(problem);
  }

  /** The listed problems as one sentence, saying how many more there are. */
  describe(text: (problem: T) => string): string {
    const more = this.total - this.listed.length;
    return `${this.listed.map(text).join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
  }
}

/** The execute request names unknown inputs, misses required ones, or has values that break their schema. */
export class InvalidInputs extends ProblemError {
  readonly status = 400;
  readonly type = `${OURS}:invalid-inputs`;
  readonly title = 'Invalid inputs';
  /** The problems listed in the answer (at most MAX_LISTED_PROBLEMS). */
  readonly problems: InputProblem[];

  constructor(problems: ProblemList<InputProblem> | InputProblem[]) {
    const list = problems instanceof ProblemList ? problems : ProblemList.of(problems);
    super(list.describe((p) => `input '${p.input}': ${p.problem}`));
    this.problems = list.listed;
    this.extensions.invalidInputs = list.listed;
    this.extensions.invalidInputCount = list.total;
  }
}

/** A malformed request: bad JSON, an execute document that breaks the standard's schema, a bad query. */
export class InvalidRequest extends ProblemError {
  readonly status = 400;
  readonly type = `${OURS}:invalid-request`;
  readonly title = 'Invalid request';
}

export class InvalidParameter extends ProblemError {
  readonly status = 400;
  readonly type = `${OURS}:invalid-parameter`;
  readonly title = 'Invalid query parameter';
}

export class Unauthorized extends ProblemError {
  readonly status = 401;
  readonly type = `${OURS}:unauthorized`;
  readonly title = 'Unauthorized';
}

/** A protected process on a server without K8S_MANAGER_API_TOKEN: it refuses rather than run unprotected. */
export class TokenNotConfigured extends ProblemError {
  readonly status = 503;
  readonly type = `${OURS}:token-not-configured`;
  readonly title = 'Protected process unavailable';
}

export class ExecutionModeNotSupported extends ProblemError {
  readonly status = 400;
  readonly type = `${OURS}:execution-mode-not-supported`;
  readonly title = 'Execution mode not supported';
}

export class PayloadTooLarge extends ProblemError {
  readonly status = 413;
  readonly type = `${OURS}:payload-too-large`;
  readonly title = 'Payload too large';
}

/** The client did not send its request (headers, or all of it) within the server's time limit. */
export class RequestTimeout extends ProblemError {
  readonly status = 408;
  readonly type = `${OURS}:request-timeout`;
  readonly title = 'Request timeout';
}

export class HeadersTooLarge extends ProblemError {
  readonly status = 431;
  readonly type = `${OURS}:headers-too-large`;
  readonly title = 'Request header fields too large';
}

export class UnsupportedMediaType extends ProblemError {
  readonly status = 415;
  readonly type = `${OURS}:unsupported-media-type`;
  readonly title = 'Unsupported media type';
}

export class NotFound extends ProblemError {
  readonly status = 404;
  readonly type = `${OURS}:not-found`;
  readonly title = 'Not found';
}

export class MethodNotAllowed extends ProblemError {
  readonly status = 405;
  readonly type = `${OURS}:method-not-allowed`;
  readonly title = 'Method not allowed';
  constructor(method: string, path: string, allowed: string[]) {
    super(`${method} is not allowed on ${path}; use ${allowed.join(', ')}.`);
    this.headers.Allow = allowed.join(', ');
  }
}

/** A synchronous execution outlived its wait bound and the process cannot answer asynchronously. */
export class SyncTimeout extends ProblemError {
  readonly status = 504;
  readonly type = `${OURS}:sync-timeout`;
  readonly title = 'Synchronous execution timed out';
}

/** The Kubernetes API refused or could not be reached: the job was not created. */
export class ClusterUnavailable extends ProblemError {
  readonly status = 502;
  readonly type = `${OURS}:cluster-error`;
  readonly title = 'Kubernetes API error';
}

/**
 * The Kubernetes API answered, and refused the Job (an admission webhook, a quota, RBAC): the same 502
 * to an HTTP client, but asking again will not help, so a queued request is dead-lettered, not requeued.
 */
export class ClusterRefusedJob extends ClusterUnavailable {}

/** The job exists, but the log asked for cannot be had (not started yet, pod gone and not archived). */
export class LogsNotAvailable extends ProblemError {
  readonly status = 404;
  readonly type = `${OURS}:logs-not-available`;
  readonly title = 'Logs not available';
}

/** The log archive (the S3 bucket) refused or could not be reached. */
export class ArchiveUnavailable extends ProblemError {
  readonly status = 502;
  readonly type = `${OURS}:archive-error`;
  readonly title = 'Log archive error';
}

/** The job files store (local disk or the data bucket) failed; nothing was created. */
export class FilesUnavailable extends ProblemError {
  readonly status = 502;
  readonly type = `${OURS}:files-unavailable`;
  readonly title = 'Job files unavailable';
}

/** A form sent to a page route from another site's page (cross-site request forgery). */
export class CrossSiteRequest extends ProblemError {
  readonly status = 403;
  readonly type = `${OURS}:cross-site-request`;
  readonly title = 'Cross-site request refused';
}

/** A link to a job output that this server did not sign, or that has expired. */
export class LinkRefused extends ProblemError {
  readonly status = 403;
  readonly type = `${OURS}:link-refused`;
  readonly title = 'Link refused';
}

/** A file output asked for by value that is larger than the server inlines. */
export class OutputTooLarge extends ProblemError {
  readonly status = 422;
  readonly type = `${OURS}:output-too-large`;
  readonly title = 'Output too large to inline';
}

/** More people watch the jobs live than the server serves at once. */
export class TooManyViewers extends ProblemError {
  readonly status = 503;
  readonly type = `${OURS}:too-many-viewers`;
  readonly title = 'Too many live viewers';
}

export class NotReady extends ProblemError {
  readonly status = 503;
  readonly type = `${OURS}:not-ready`;
  readonly title = 'Not ready';
}

/** A queued request for a process whose jobs the intake cannot run (a local process, when the intake runs alone). */
export class IntakeRefused extends ProblemError {
  readonly status = 422;
  readonly type = `${OURS}:intake-refused`;
  readonly title = 'Not taken from the queue';
}

/** A queued request that failed in the intake itself (a bug): dead-lettered rather than retried for ever. */
export class IntakeFailed extends ProblemError {
  readonly status = 500;
  readonly type = `${OURS}:intake-failed`;
  readonly title = 'Queued request failed';
}

/** The configuration file is missing, unreadable or invalid: the server must not start. */
export class ConfigError extends Error {}
