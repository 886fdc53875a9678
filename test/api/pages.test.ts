// Content negotiation between the JSON API and the pages, the page-only routes' answers to bad
// requests, and the live event stream.
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { assertWellFormed } from '../support/pages.js';
import { startTestServer, type TestServer } from '../support/server.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('pages: content negotiation, forms and live events', function () {
  this.timeout(20_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
  });

  describe('JSON stays the default; f and Accept choose', () => {
    for (const path of ['/', '/conformance', '/processes', '/processes/echo', '/jobs']) {
      it(`GET ${path}: JSON without Accept, with */* and with f=json; a page with f=html or a browser's Accept`, async () => {
        for (const headers of [{}, { Accept: '*/*' }, { Accept: 'application/json' }] as Array<Record<string, string>>) {
          const res = await server.client.get(path, headers);
          assert.equal(res.status, 200);
          assert.match(String(res.headers['content-type']), /^application\/json/);
        }
        const asJson = await server.client.get(`${path}${path.includes('?') ? '&' : '?'}f=json`, { Accept: BROWSER_ACCEPT });
        assert.match(String(asJson.headers['content-type']), /^application\/json/, 'f=json wins over Accept');
        for (const [query, headers] of [['?f=html', {}], ['', { Accept: BROWSER_ACCEPT }]] as const) {
          const res = await server.client.get(`${path}${query}`, headers);
          assert.equal(res.status, 200);
          assert.match(String(res.headers['content-type']), /^text\/html/);
          assert.match(String(res.headers.vary), /Accept/);
          assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
          assertWellFormed(res.text, path);
        }
      });
    }

    it('declares the html conformance class', async () => {
      const res = await server.client.get('/conformance');
      assert.ok(res.body.conformsTo.includes('http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/html'));
    });

    it('refuses a bad f with 400: problem+json for API clients, a page for browsers', async () => {
      const api = await server.client.get('/jobs?f=xml');
      assert.equal(api.status, 400);
      assert.match(api.body.detail, /parameter 'f'/);
      const page = await server.client.get('/jobs?f=xml', { Accept: BROWSER_ACCEPT });
      assert.equal(page.status, 400);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.match(page.text, /parameter &#39;f&#39;/);
      assert.equal((await server.client.get('/api?f=html')).status, 400, 'the API document has no page');
    });

    it('answers failures asked as pages with a page of the same status, the detail escaped', async () => {
      const res = await server.client.get('/processes/%3Cscript%3Ealert(1)%3C%2Fscript%3E?f=html');
      assert.equal(res.status, 404);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.ok(!res.text.includes('<script>alert(1)'), 'the name is escaped');
      assert.match(res.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
      assertWellFormed(res.text, 'the error page');
      assert.equal((await server.client.get('/no/such/page', { Accept: BROWSER_ACCEPT })).status, 404);
    });

    it('says on the log page that a local job has no container logs', async () => {
      const job = await server.client.execute('echo', { inputs: {} }, { Prefer: 'respond-async' });
      const res = await server.client.get(`/jobs/${job.body.jobID}/logs?f=html`);
      assert.equal(res.status, 404);
      assert.match(res.text, /local process.*no container logs/);
    });
  });

  describe('the run form and dismissal, answered as pages', () => {
    it('refuses a body that is not a form with 415', async () => {
      const res = await server.client.raw().post('/processes/echo/form').set('Content-Type', 'application/json').send('{}');
      assert.equal(res.status, 415);
      assert.match(String(res.headers['content-type']), /^text\/html/);
    });

    it('refuses fields the form does not offer, and a bad mode, with 400 naming them', async () => {
      const unknown = await server.client.raw().post('/processes/echo/form').type('form').send({ surprise: '1' });
      assert.equal(unknown.status, 400);
      assert.match(unknown.text, /fields it does not offer: &#39;surprise&#39;/);
      const mode = await server.client.raw().post('/processes/echo/form').type('form').send({ mode: 'later' });
      assert.equal(mode.status, 400);
      assert.match(mode.text, /&#39;sync&#39; or &#39;async&#39;/);
    });

    it('names an unknown input as the API does, and redirects (303) a good run to its results', async () => {
      const bad = await server.client.raw().post('/processes/echo/form').type('form').send({ 'inputs.nope': 'x' });
      assert.equal(bad.status, 400);
      assert.match(bad.text, /input &#39;nope&#39;: is not an input of process &#39;echo&#39;/);
      const good = await server.client.raw().post('/processes/hello-world/form').type('form').send({ 'inputs.name': 'Form', mode: 'sync' });
      assert.equal(good.status, 303);
      assert.match(String(good.headers.location), /\/jobs\/[0-9a-f-]+\/results\?f=html$/);
    });

    it('refuses other methods on the form and dismissal with 405 and Allow', async () => {
      const res = await server.client.raw().get('/processes/echo/form');
      assert.equal(res.status, 405);
      assert.equal(res.headers.allow, 'POST');
      assert.match(String(res.headers['content-type']), /^text\/html/);
    });

    it('refuses the form and dismissal sent from another site\'s page (CSRF) with 403, running and dismissing nothing', async () => {
      const job = await server.client.execute('echo', { inputs: { pause: 60 } }, { Prefer: 'respond-async' });
      const before = (await server.client.get('/jobs')).body.numberMatched as number;
      for (const headers of [{ 'Sec-Fetch-Site': 'cross-site' }, { 'Sec-Fetch-Site': 'same-site' }, { Origin: 'https://evil.example' }, { Origin: 'null' }] as Array<Record<string, string>>) {
        const run = await server.client.raw().post('/processes/hello-world/form').set(headers).type('form').send({ 'inputs.name': 'forged', mode: 'async' });
        assert.equal(run.status, 403, JSON.stringify(headers));
        assert.match(String(run.headers['content-type']), /^text\/html/);
        const dismissal = await server.client.raw().post(`/jobs/${job.body.jobID}/dismissal`).set(headers).type('form').send({});
        assert.equal(dismissal.status, 403, JSON.stringify(headers));
      }
      assert.equal((await server.client.get('/jobs')).body.numberMatched, before, 'no job was run');
      assert.notEqual((await server.client.get(`/jobs/${job.body.jobID}`)).body.status, 'dismissed');
      // The server's own pages, as a browser sends them: same-origin, or an Origin of this server.
      const own = await server.client.raw().post('/processes/hello-world/form').set({ 'Sec-Fetch-Site': 'same-origin', Origin: new URL(server.url).origin }).type('form').send({ 'inputs.name': 'own', mode: 'async' });
      assert.equal(own.status, 303);
      const byOrigin = await server.client.raw().post(`/jobs/${job.body.jobID}/dismissal`).set({ Origin: new URL(server.url).origin }).type('form').send({});
      assert.equal(byOrigin.status, 303);
    });

    it('dismisses from a page: 303 to the job, then 404 for a job that is gone', async () => {
      const job = await server.client.execute('echo', { inputs: { pause: 60 } }, { Prefer: 'respond-async' });
      const res = await server.client.raw().post(`/jobs/${job.body.jobID}/dismissal`).type('form').send({});
      assert.equal(res.status, 303);
      assert.match(String(res.headers.location), new RegExp(`/jobs/${job.body.jobID}\\?f=html$`));
      assert.equal((await server.client.get(`/jobs/${job.body.jobID}`)).body.status, 'dismissed');
      assert.equal((await server.client.raw().post('/jobs/00000000-0000-4000-8000-000000000000/dismissal')).status, 404);
    });
  });

  describe('GET /job-events', () => {
    /** Opens the stream and collects its text until `until` matches (bounded). */
    const readEvents = (path: string, until: RegExp, whileOpen: () => Promise<unknown> = async () => undefined) =>
      new Promise<{ res: IncomingMessage; text: string }>((resolve, reject) => {
        const req = httpRequest(`${server.url}${path}`, { headers: { Accept: 'text/event-stream' } }, (res) => {
          let text = '';
          const timer = setTimeout(() => {
            req.destroy();
            reject(new Error(`no match for ${until} in: ${text}`));
          }, 10_000);
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            if (until.test(text)) {
              clearTimeout(timer);
              req.destroy();
              resolve({ res, text });
            }
          });
          void whileOpen().catch(reject);
        });
        req.on('error', () => undefined);
        req.end();
      });

    it('streams a statusInfo event for each change of a job, and closes with the client', async () => {
      const before = server.services.liveJobs.viewerCount;
      const { res, text } = await readEvents('/job-events', /"status":"successful"/, () => server.client.execute('hello-world', { inputs: { name: 'events' } }));
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/event-stream/);
      assert.match(text, /^retry: \d+/);
      const events = [...text.matchAll(/event: job\ndata: (.*)\n\n/g)].map((match) => JSON.parse(match[1]!) as { processID: string; status: string });
      assert.ok(events.some((event) => event.processID === 'hello-world' && event.status === 'successful'));
      for (let i = 0; i < 50 && server.services.liveJobs.viewerCount > before; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(server.services.liveJobs.viewerCount, before, 'the viewer is gone with its client');
    });

    it('streams only the named job\'s changes with jobID', async () => {
      const job = await server.client.execute('echo', { inputs: { pause: 1 } }, { Prefer: 'respond-async' });
      const { text } = await readEvents(`/job-events?jobID=${job.body.jobID}`, /"status":"successful"/, () => server.client.execute('hello-world', { inputs: { name: 'other' } }));
      assert.doesNotMatch(text, /hello-world/);
    });

    it('answers 404 for an unknown job and 400 for an unknown parameter', async () => {
      assert.equal((await server.client.get('/job-events?jobID=nope')).status, 404);
      const res = await server.client.get('/job-events?status=running');
      assert.equal(res.status, 400);
      assert.match(res.body.detail, /'status'/);
    });

    it('refuses a log without a job (400) and the log of a local job, which has none (404)', async () => {
      const alone = await server.client.get('/job-events?log=true');
      assert.equal(alone.status, 400);
      assert.match(alone.body.detail, /'jobID'/);
      const job = await server.client.execute('hello-world', { inputs: { name: 'no log' } }, { Prefer: 'respond-async' });
      const local = await server.client.get(`/job-events?jobID=${job.body.jobID}&log=true`);
      assert.equal(local.status, 404);
      assert.match(local.body.detail, /no container logs/);
      assert.equal((await server.client.get('/job-events?jobID=x&log=maybe')).status, 400);
    });
  });
});
