import type { RequestHandler } from 'express';
import { MethodNotAllowed } from '../errors.js';

/** Answers 405 with an Allow header for any method a path does not take. */
export function onlyMethods(...allowed: string[]): RequestHandler {
  return (req, _res, next) => next(new MethodNotAllowed(req.method, req.path, allowed));
}
