import { performance } from 'node:perf_hooks';
import { Router, type RequestHandler, type Response } from 'express';
import { onlyMethods } from '../http/methods.js';
import { queryParser } from '../http/query.js';
import { isStreaming } from '../http/streaming.js';
import type { Services } from '../services.js';
import { UNMATCHED_ROUTE, type ServerMetrics } from './server-metrics.js';

/** /metrics takes no query parameter (decision 0003: an unknown one is a 400). */
export const metricsQuerySchema = { type: 'object', additionalProperties: false, properties: {} } as const;

/** GET /metrics: the Prometheus text format. No secret is in it (decision 0022), so it is open like /healthz. */
export function metricsRoutes({ metrics, queryAjv }: Pick<Services, 'metrics' | 'queryAjv'>): Router {
  const router = Router();
  const parseNone = queryParser(queryAjv, metricsQuerySchema);
  router.route('/metrics').get(async (req, res) => {
    parseNone(req.query);
    res.type(metrics.contentType).send(await metrics.exposition());
  }).all(onlyMethods('GET'));
  return router;
}

const ARRIVED = Symbol('arrived');
type TimedResponse = Response & { [ARRIVED]: number };

/**
 * Times every request but streams (an event stream, a followed log), mounted before the routes. Per request: one timestamp and one listener (a
 * shared function, no closure); the route is read when the response ends, once a route has taken it.
 */
export function requestTimer(metrics: ServerMetrics): RequestHandler {
  function served(this: TimedResponse): void {
    if (isStreaming(this)) return;
    const { req } = this;
    const template = req.route?.path as string | undefined;
    // Mounted routers and static folders name their mount path; routes here are mounted at the root.
    const route = template === undefined ? req.baseUrl || UNMATCHED_ROUTE : req.baseUrl ? req.baseUrl + template : template;
    metrics.requestServed(route, req.method, this.statusCode, (performance.now() - this[ARRIVED]) / 1000);
  }
  return (_req, res, next) => {
    (res as TimedResponse)[ARRIVED] = performance.now();
    res.on('close', served); // also when the client goes away before the end
    next();
  };
}
