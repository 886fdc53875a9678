import request from 'supertest';
import { assertOgc, type OgcShape } from './ogc-schemas.js';

type Headers = Record<string, string>;

/**
 * An HTTP client for the tests that checks every JSON body it receives against the standard's
 * schema for that endpoint (problem documents against `exception`), so no test can forget to.
 */
export class OgcClient {
  constructor(readonly baseUrl: string) {}

  get(path: string, headers: Headers = {}) {
    return this.send('GET', path, undefined, headers);
  }

  post(path: string, body: unknown, headers: Headers = {}) {
    return this.send('POST', path, body, headers);
  }

  execute(processId: string, body: unknown, headers: Headers = {}) {
    return this.post(`/processes/${processId}/execution`, body, headers);
  }

  delete(path: string, headers: Headers = {}) {
    return this.send('DELETE', path, undefined, headers);
  }

  /** A raw supertest request, for bodies that are not JSON documents (wrong types, broken JSON). */
  raw() {
    return request(this.baseUrl);
  }

  private async send(method: 'GET' | 'POST' | 'DELETE', path: string, body: unknown, headers: Headers) {
    let pending = request(this.baseUrl)[method === 'GET' ? 'get' : method === 'POST' ? 'post' : 'delete'](path).set(headers);
    if (body !== undefined) pending = pending.set('Content-Type', 'application/json').send(JSON.stringify(body));
    const response = await pending;
    checkAgainstStandard(path, response);
    return response;
  }
}

export function checkAgainstStandard(path: string, response: request.Response): void {
  const type = String(response.headers['content-type'] ?? '');
  // A client that accepts only application/json gets its problem documents under that type.
  if (type.startsWith('application/problem+json') || (type.startsWith('application/json') && response.status >= 400)) {
    assertOgc('exception', JSON.parse(response.text));
    return;
  }
  if (!type.startsWith('application/json')) return;
  const shape = shapeOf(path.split('?')[0]!, response.status);
  if (shape) assertOgc(shape, response.body);
}

function shapeOf(path: string, status: number): OgcShape | undefined {
  if (path === '/') return 'landingPage';
  if (path === '/conformance') return 'confClasses';
  if (path === '/processes') return 'processList';
  if (/^\/processes\/[^/]+$/.test(path)) return 'process';
  if (/^\/processes\/[^/]+\/execution$/.test(path)) return status === 201 ? 'statusInfo' : 'results';
  if (path === '/jobs') return 'jobList';
  if (/^\/jobs\/[^/]+$/.test(path)) return 'statusInfo';
  if (/^\/jobs\/[^/]+\/results$/.test(path)) return 'results';
  return undefined;
}
