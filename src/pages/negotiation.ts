import type { Request, Response } from 'express';

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
