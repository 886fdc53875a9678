import type { Response } from 'express';
import { Eta } from 'eta';
import * as templates from './templates/index.js';

/** What every page links to: the site's title, its sections, the stylesheet and the script. */
export interface Site {
  title: string;
  home: string;
  processes: string;
  jobs: string;
  conformance: string;
  apiDoc: string;
  stylesheet: string;
  script: string;
}

export type TemplateName = Exclude<keyof typeof templates, 'layout' | 'pager'>;

/**
 * Pages may load only this server's stylesheet and script and talk only to this server: even a value
 * that escaped escaping could not run as a script.
 */
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function setPageHeaders(res: Response): void {
  res.set({ 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' });
}

/** Renders the pages with Eta, which escapes every interpolation unless a template asks otherwise (only the layout's body and the pager). */
export class Views {
  private readonly eta = new Eta({ autoEscape: true, cache: true, useWith: false });

  constructor(private readonly site: Site) {
    for (const [name, text] of Object.entries(templates)) this.eta.loadTemplate(`@${name}`, text);
  }

  render(name: TemplateName, data: { title: string; json?: string; live?: string } & Record<string, unknown>): string {
    return this.eta.render(`@${name}`, { ...data, site: this.site });
  }

  send(res: Response, status: number, name: TemplateName, data: Parameters<Views['render']>[1]): void {
    setPageHeaders(res);
    res.status(status).type('html').send(this.render(name, data));
  }
}
