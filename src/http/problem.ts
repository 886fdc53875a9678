import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { InvalidRequest, NotFound, PayloadTooLarge, ProblemError } from '../errors.js';

export const PROBLEM_JSON = 'application/problem+json';

/** The one place where failures become application/problem+json responses (RFC 7807). */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const problem = asProblem(error);
    if (problem.status >= 500) logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(problem.status).set(problem.headers).type(PROBLEM_JSON).send(
      JSON.stringify({
        type: problem.type,
        title: problem.title,
        status: problem.status,
        detail: problem.message,
        instance: req.originalUrl,
        ...problem.extensions,
      }),
    );
  };
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
