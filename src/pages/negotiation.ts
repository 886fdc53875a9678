import type { Request, RequestHandler, Response } from 'express';
import { CrossSiteRequest } from '../errors.js';

/**
 * Whether a request asks for a page: `f=html`, or, unless `f` names another format, an Accept header
 * that prefers text/html to JSON (a browser's). API clients that send no Accept, or * / *, get JSON as
 * before. A bad `f` from a browser is answered with a page that says so.
 */
export function wantsHtml(req: Request): boolean {
  const { f } = req.query as Record<string, unknown>;
  if (f === 'html') return true;
  if (f === 'json' || f === 'text') return false;
  return req.accepts(['application/json', 'text/html']) === 'text/html';
}

/** Routes that only ever answer pages (the form, dismissal) mark their response, so failures are pages too. */
export function markPageOnly(res: Response): void {
  res.locals.pageOnly = true;
}

export function isPageOnly(res: Response): boolean {
  return res.locals.pageOnly === true;
}

/**
 * Refuses a form another site's page sends (CSRF): the page routes that act (run, dismiss) take
 * urlencoded and multipart bodies, which a browser sends cross-site without asking (no CORS
 * preflight, unlike the API's JSON and DELETE). Browsers say where a request comes from in
 * Sec-Fetch-Site, older ones in Origin; a request with neither is not a browser's, and passes.
 * The same rule as Go's net/http CrossOriginProtection.
 */
export function sameOriginOnly(publicUrl: string): RequestHandler {
  const ownOrigin = new URL(publicUrl).origin;
  return (req, _res, next) => {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined) {
      next(site === 'same-origin' || site === 'none' ? undefined : new CrossSiteRequest(`This form can only be sent from this server's own pages (Sec-Fetch-Site: ${site.slice(0, 20)}).`));
      return;
    }
    const origin = req.headers.origin;
    if (origin === undefined) {
      next();
      return;
    }
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    next(origin === ownOrigin || (host !== undefined && host === req.headers.host) ? undefined : new CrossSiteRequest(`This form can only be sent from this server's own pages, not from ${origin.slice(0, 100)}.`));
  };
}
