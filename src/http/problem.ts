import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { STATUS_CODES } from 'node:http';
import { HeadersTooLarge, InvalidRequest, NotFound, PayloadTooLarge, ProblemError, RequestTimeout, shortName, UnsupportedMediaType } from '../errors.js';

export const PROBLEM_JSON = 'application/problem+json';
const JSON_TYPE = 'application/json';

/** A failure as an HTML page, for a request that asked for a page (src/pages); undefined for API clients. */
export type ProblemPage = (problem: ProblemError, req: Request, res: Response) => string | undefined;

/**
 * The one place where failures become application/problem+json responses (RFC 7807). The type has no
 * charset parameter (RFC 7807 defines none; JSON is UTF-8), and a client that accepts only
 * application/json gets the same document under that type. A request for a page gets the same
 * problem as a page, with the same status.
 */
export function problemHandler(logger: Logger, page?: ProblemPage): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const problem = asProblem(error, req);
    if (problem.status >= 500) logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const html = page?.(problem, req, res);
    if (html !== undefined) {
      res.status(problem.status).set(problem.headers).type('html').send(html);
      return;
    }
    const type = req.accepts([PROBLEM_JSON, JSON_TYPE]) || PROBLEM_JSON;
    // setHeader and a Buffer: express's type() and send(string) would append "; charset=utf-8".
    res.status(problem.status).set(problem.headers).setHeader('Content-Type', type);
    res.send(Buffer.from(problemDocument(problem, req.originalUrl)));
  };
}

/** The problem document (RFC 7807) of a failure, as JSON text. */
export function problemDocument(problem: ProblemError, instance?: string): string {
  return JSON.stringify({
    type: problem.type,
    title: problem.title,
    status: problem.status,
    detail: problem.message,
    ...(instance !== undefined ? { instance } : {}),
    ...problem.extensions,
  });
}

/**
 * The raw HTTP/1.1 answer to a request that Node's parser refused, or that did not arrive in time,
 * before express saw it (the server's 'clientError'): the same problem document, then the connection
 * closes.
 */
export function clientErrorResponse(error: NodeJS.ErrnoException, timeouts: { headersTimeoutSeconds: number; requestTimeoutSeconds: number }): string {
  let problem: ProblemError;
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      problem = new RequestTimeout(
        `The request did not arrive in time: the headers within ${timeouts.headersTimeoutSeconds} s, the whole request within ${timeouts.requestTimeoutSeconds} s (server.limits.headers_timeout_seconds, request_timeout_seconds).`,
      );
      break;
    case 'HPE_HEADER_OVERFLOW':
      problem = new HeadersTooLarge('The request headers are larger than this server takes.');
      break;
    default:
      problem = new InvalidRequest(`The request is not valid HTTP/1.1 (${error.code ?? 'unparsable'}).`);
  }
  const body = problemDocument(problem);
  return [`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}`, `Content-Type: ${PROBLEM_JSON}`, `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body].join('\r\n');
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new NotFound(`There is nothing at ${req.method} ${req.path}. GET / lists what this server offers.`));
};

class InternalError extends ProblemError {
  readonly status = 500;
  readonly type = 'urn:ogcapi-k8s-manager:problem:internal-error';
  readonly title = 'Internal server error';
}

/**
 * Failures that are not ours come from express: its router (a path parameter that is not valid
 * percent-encoding) and its body parser (http-errors: a `status`, `expose`, and a `type` for the
 * common ones). Those with a 4xx status are the client's; everything else is a server fault.
 */
function asProblem(error: unknown, req: Request): ProblemError {
  if (error instanceof ProblemError) return error;
  const foreign = (typeof error === 'object' && error !== null ? error : {}) as ForeignError;
  const status = typeof foreign.status === 'number' ? foreign.status : 500;
  // http-errors marks what a client may see with `expose`; the router's decoding error is a bare URIError.
  const clientFault = status >= 400 && status < 500 && (foreign.expose === true || error instanceof URIError);
  if (!clientFault) return new InternalError('The server failed to handle this request; the failure was logged.');
  const message = foreign.message ?? 'unreadable request';
  switch (foreign.type) {
    case 'entity.parse.failed':
      return new InvalidRequest(`The request body is not valid JSON: ${message}`);
    case 'entity.too.large':
      return new PayloadTooLarge(`The request body is larger than the limit of ${foreign.limit} bytes.`);
    case 'encoding.unsupported':
      return new UnsupportedMediaType(`The Content-Encoding '${shortName(String(foreign.encoding))}' is not supported; send the body as it is (identity), or as gzip, deflate or br.`);
    case 'charset.unsupported':
      return new UnsupportedMediaType(`The charset '${shortName(String(foreign.charset))}' is not supported; send UTF-8.`);
    case 'request.aborted':
      return new InvalidRequest('The request was aborted by the client.');
    case 'request.size.invalid':
      return new InvalidRequest('The request body is not as long as its Content-Length says.');
  }
  if (error instanceof URIError) {
    return new InvalidRequest(`The path ${req.path} is not valid percent-encoding (RFC 3986): each % takes two hex digits, and the bytes must be UTF-8.`);
  }
  const encoding = req.headers['content-encoding'];
  if (encoding && encoding !== 'identity') {
    return new InvalidRequest(`The request body is not valid ${shortName(encoding)} data, as its Content-Encoding says: ${message}.`);
  }
  if (status === 413) return new PayloadTooLarge(message);
  if (status === 415) return new UnsupportedMediaType(message);
  return new InvalidRequest(`The request cannot be read: ${message}`);
}

/** What express's router and body parser (http-errors) put on the errors they pass on. */
interface ForeignError {
  status?: unknown;
  expose?: boolean;
  type?: string;
  message?: string;
  limit?: number;
  encoding?: string;
  charset?: string;
}
