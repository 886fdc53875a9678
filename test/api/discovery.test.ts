import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startTestServer, type TestServer } from '../support/server.js';

describe('discovery: landing page, conformance, API definition, processes', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer()));
  after(() => server.stop());

  it('links the landing page to service-desc, service-doc, conformance, processes and job-list', async () => {
    const res = await server.client.get('/');
    assert.equal(res.status, 200);
    const rels = Object.fromEntries((res.body.links as Array<{ rel: string; href: string }>).map((l) => [l.rel, l.href]));
    assert.equal(rels['service-desc'], `${server.url}/api`);
    assert.equal(rels['service-doc'], `${server.url}/api.html`);
    assert.equal(rels['http://www.opengis.net/def/rel/ogc/1.0/conformance'], `${server.url}/conformance`);
    assert.equal(rels['http://www.opengis.net/def/rel/ogc/1.0/processes'], `${server.url}/processes`);
    assert.equal(rels['http://www.opengis.net/def/rel/ogc/1.0/job-list'], `${server.url}/jobs`);
  });

  it('declares exactly the conformance classes it implements', async () => {
    const res = await server.client.get('/conformance');
    assert.deepEqual(
      [...res.body.conformsTo].sort(),
      ['callback', 'core', 'dismiss', 'html', 'job-list', 'json', 'oas30', 'ogc-process-description'].map((c) => `http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/${c}`),
    );
  });

  it('serves an OpenAPI 3.0 document that a validator accepts and that documents each process', async () => {
    const res = await server.client.get('/api');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type']!, /^application\/vnd\.oai\.openapi\+json;\s*version=3\.0/);
    const document = JSON.parse(res.text);
    const result = await new Validator().validate(document);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 3000));
    assert.equal(document.openapi, '3.0.3');
    for (const path of ['/', '/conformance', '/api', '/processes', '/processes/{processId}', '/jobs', '/jobs/{jobId}', '/jobs/{jobId}/results', '/jobs/{jobId}/outputs/{outputId}', '/jobs/{jobId}/logs']) {
      assert.ok(document.paths[path], `missing path ${path}`);
    }
    assert.equal(document.paths['/processes/{processId}/execution'], undefined, 'each process has its own execute operation, whose body is exact');
    const echo = document.paths['/processes/echo/execution'].post;
    const inputs = echo.requestBody.content['application/json'].schema.properties.inputs;
    assert.deepEqual(Object.keys(inputs.properties).sort(), [
      'array_input', 'bbox_input', 'boolean_input', 'csv_input', 'integer_array_input', 'number_input', 'object_input', 'pause', 'string_input', 'string_or_number_input',
    ]);
    const hello = document.paths['/processes/hello-world/execution'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(hello.properties.inputs.required, ['name']);
    assert.ok(hello.example.inputs.name, 'the execute request has an example to try');
    const statuses = (path: string, method = 'get') => Object.keys(document.paths[path][method].responses);
    assert.deepEqual(statuses('/processes/echo/execution', 'post'), ['200', '201', '204', '400', '404', '408', '413', '415', '431', '500'], 'a local, open process with sync and async execution: no token, no cluster, no files');
    for (const path of ['/', '/conformance', '/api', '/processes', '/jobs']) assert.deepEqual(statuses(path), ['200', '400', '408', '431', '500'], path);
    for (const path of ['/processes/{processId}', '/jobs/{jobId}']) assert.deepEqual(statuses(path), ['200', '400', '404', '408', '431', '500'], path);
    assert.deepEqual(statuses('/jobs/{jobId}', 'delete'), ['200', '400', '404', '408', '431', '500']);
    assert.deepEqual(statuses('/jobs/{jobId}/results'), ['200', '204', '400', '404', '408', '431', '500'], 'no process with file outputs: no 422');
    assert.deepEqual(statuses('/jobs/{jobId}/outputs/{outputId}'), ['400', '403', '404', '408', '431', '500'], 'no process with file outputs: never a file');
    assert.deepEqual(statuses('/jobs/{jobId}/logs'), ['400', '404', '408', '431', '500'], 'no image process: never a log');
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const [status, response] of Object.entries(operation.responses).filter(([code]) => code >= '400')) {
          assert.deepEqual(Object.keys(response.content ?? {}), ['application/problem+json', 'application/json', 'text/html'], `${method} ${path} ${status}`);
        }
      }
    }
  });

  it('serves Swagger UI and its assets from the installed package', async () => {
    const page = await server.client.raw().get('/api.html');
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type']!, /text\/html/);
    assert.doesNotMatch(page.text, /https?:\/\//, 'no asset comes from another host');
    for (const asset of ['swagger-ui/swagger-ui-bundle.js', 'swagger-ui/swagger-ui.css', 'swagger-ui/swagger-ui-init.js']) {
      assert.match(page.text, new RegExp(asset.replace(/[.]/g, '\\.')));
      const res = await server.client.raw().get(`/${asset}`);
      assert.equal(res.status, 200, asset);
    }
  });

  it('lists the processes as OGC process summaries', async () => {
    const res = await server.client.get('/processes');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.processes.map((p: { id: string }) => p.id), ['echo', 'hello-world']);
    const echo = res.body.processes[0];
    assert.deepEqual(echo.jobControlOptions, ['sync-execute', 'async-execute', 'dismiss']);
    assert.equal(echo.inputs, undefined, 'a summary does not carry the inputs');
  });

  it('pages the process list with limit and next/prev links', async () => {
    const first = await server.client.get('/processes?limit=1');
    assert.deepEqual(first.body.processes.map((p: { id: string }) => p.id), ['echo']);
    const next = first.body.links.find((l: { rel: string }) => l.rel === 'next');
    assert.ok(next, 'a next link');
    assert.equal(first.body.links.find((l: { rel: string }) => l.rel === 'prev'), undefined);
    const second = await server.client.get(next.href.slice(server.url.length));
    assert.deepEqual(second.body.processes.map((p: { id: string }) => p.id), ['hello-world']);
    assert.equal(second.body.links.find((l: { rel: string }) => l.rel === 'next'), undefined);
    const prev = second.body.links.find((l: { rel: string }) => l.rel === 'prev');
    const back = await server.client.get(prev.href.slice(server.url.length));
    assert.deepEqual(back.body.processes.map((p: { id: string }) => p.id), ['echo']);
  });

  for (const query of ['limit=0', 'limit=10001', 'limit=abc', 'limit=1&limit=2', 'cursor=garbage', 'cursor=', 'bogus=1', 'f=xml']) {
    it(`rejects GET /processes?${query} with 400 naming the parameter`, async () => {
      const res = await server.client.get(`/processes?${query}`);
      assert.equal(res.status, 400);
      assert.equal(res.headers['content-type'], 'application/problem+json');
      const name = query.split('=')[0]!;
      assert.match(res.body.detail ?? JSON.parse(res.text).detail, new RegExp(name));
    });
  }

  it('describes a process with its inputs and outputs', async () => {
    const res = await server.client.get('/processes/hello-world');
    assert.equal(res.status, 200);
    assert.equal(res.body.id, 'hello-world');
    assert.deepEqual(res.body.inputs.name.schema, { type: 'string', minLength: 1 });
    assert.equal(res.body.inputs.name.minOccurs, 1);
    assert.ok(res.body.outputs.greeting);
    assert.ok(res.body.links.some((l: { rel: string }) => l.rel === 'self'));
  });

  it('describes echo with inputs of each kind, in the forms the OGC test suite recognises', async () => {
    const { body } = await server.client.get('/processes/echo');
    const { inputs, outputs } = body;
    const ids = Object.keys(inputs);
    assert.equal(ids[0], 'string_input', 'the suite sends the first input alone: a string it can find in the answer');
    assert.ok(ids.indexOf('integer_array_input') < ids.indexOf('array_input'), 'the suite takes the first array input, and needs its item type');
    assert.deepEqual(inputs.integer_array_input.schema.items, { type: 'integer' });
    for (const described of [inputs.bbox_input, outputs.bbox_input]) {
      assert.deepEqual(described.schema.allOf[0], { format: 'ogc-bbox' }, 'the bounding box form is named first in allOf');
      assert.deepEqual(described.schema.allOf[1].required, ['bbox', 'crs']);
    }
    assert.doesNotMatch(JSON.stringify(body), /\$ref/, 'schemas are inline: the suite follows no $ref');
    assert.equal(inputs.csv_input.schema.contentMediaType, 'text/csv');
    for (const described of [inputs.string_or_number_input, outputs.string_or_number_input]) {
      assert.deepEqual(described.schema.oneOf, [{ type: 'string' }, { type: 'number' }]);
    }
    assert.deepEqual(Object.keys(outputs), ids.filter((id) => id !== 'pause'), 'each input has its echo');
  });

  it('answers 404 no-such-process for an unknown process', async () => {
    const res = await server.client.get('/processes/nope');
    assert.equal(res.status, 404);
    const problem = JSON.parse(res.text);
    assert.equal(problem.type, 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-process');
    assert.match(problem.detail, /nope/);
  });

  it('answers 404 problem+json for an unknown path and 405 with Allow for a wrong method', async () => {
    const missing = await server.client.get('/nothing-here');
    assert.equal(missing.status, 404);
    assert.match(missing.headers['content-type']!, /application\/problem\+json/);
    const wrong = await server.client.raw().put('/processes');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'GET');
    assert.match(wrong.headers['content-type']!, /application\/problem\+json/);
  });

  it('reports alive and ready', async () => {
    assert.equal((await server.client.get('/healthz')).status, 200);
    const ready = await server.client.get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ready');
  });
});
