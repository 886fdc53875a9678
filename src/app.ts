import express, { type Express } from 'express';
import { notFoundHandler, problemHandler } from './http/problem.js';
import { healthRoutes } from './http/routes/health.js';
import { jobFileRoutes } from './job-data/routes.js';
import { jobRoutes } from './http/routes/jobs.js';
import { landingRoutes } from './http/routes/landing.js';
import { metricsRoutes, requestTimer } from './metrics/routes.js';
import { processRoutes } from './http/routes/processes.js';
import { pageRoutes } from './pages/routes.js';
import type { Services } from './services.js';

/** The HTTP application: routes and error mapping only; every decision is in the services. */
export function createApp(services: Services): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestTimer(services.metrics));
  app.use(healthRoutes(services));
  app.use(metricsRoutes(services));
  // Before the JSON routes: a request for a page is answered there, any other goes on.
  const pages = pageRoutes(services);
  app.use(pages.router);
  app.use(landingRoutes(services));
  app.use(processRoutes(services));
  app.use(jobRoutes(services));
  app.use(jobFileRoutes(services));
  app.use(notFoundHandler);
  app.use(problemHandler(services.logger, pages.problemPage));
  return app;
}
