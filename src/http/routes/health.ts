import { Router } from 'express';
import { NotReady } from '../../errors.js';
import type { Services } from '../../services.js';

/** /healthz: the process answers. /readyz: stores open and backends reachable, so traffic may come. */
export function healthRoutes({ jobs }: Services): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'alive' });
  });
  router.get('/readyz', async (_req, res) => {
    try {
      await jobs.checkReady();
    } catch (error) {
      throw error instanceof NotReady ? error : new NotReady(`Not ready: ${(error as Error).message}`);
    }
    res.json({ status: 'ready' });
  });
  return router;
}
