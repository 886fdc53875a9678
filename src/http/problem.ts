import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { InvalidRequest, NotFound, PayloadTooLarge, ProblemError } from '../errors.js';

export const PROBLEM_JSON = 'application/problem+json';
const JSON_TYPE = 'application/json';

/**
 * The one place where failures become application/problem+json responses (RFC 7807). The type has no
 * charset parameter (RFC 7807 defines none; JSON is UTF-8), and a client that accepts only
 * application/json gets the same document under that type.
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const problem = asProblem(error);
    if (problem.status >= 500) logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
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

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new NotFound(`There is nothing at ${req.method} ${req.path}. GET / lists what this server offers.`));
};

class InternalError extends ProblemError {
  readonly status = 500;
  readonly type = 'urn:ogcapi-k8s-manager:problem:internal-error';
  readonly title = 'Internal server error';
}

/** Errors of express's body parser carry a `type`; the rest that are not ours are server faults. */
function asProblem(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  const parserError = error as { type?: string; limit?: number; message?: string };
  switch (parserError.type) {
    case 'entity.parse.failed':
      return new InvalidRequest(`The request body is not valid JSON: ${parserError.message ?? 'parse error'}`);
    case 'entity.too.large':
      return new PayloadTooLarge(`The request body is larger than the limit of ${parserError.limit} bytes.`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new InvalidRequest(parserError.message ?? 'Unsupported body encoding');
    case 'request.aborted':
      return new InvalidRequest('The request was aborted by the client.');
  }
  return new InternalError('The server failed to handle this request; the failure was logged.');
}
