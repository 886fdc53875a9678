import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type request from 'supertest';
import { openSqliteJobStore } from '../../src/jobs/sqlite-store.js';
import { checkAgainstStandard } from '../support/client.js';
import { DEFAULT_TEST_CONFIG, startTestServer, type TestServer } from '../support/server.js';

const FAILED_JOB = 'seeded-failed-job';

/**
 * What a hostile or careless client may send. Every answer is a 4xx (or the 500 of a job that really
 * failed) in application/problem+json, says what is wrong, and creates no job.
 */
describe('hostile inputs: bad requests get small problem documents and create nothing', () => {
  let server: TestServer;
  before(async () => {
    const store = openSqliteJobStore(':memory:');
    server = await startTestServer({ localStore: store, configYaml: DEFAULT_TEST_CONFIG });
    // Seeded after the start, which fails unfinished jobs: a job that failed, for the 500 of its results.
    store.insert({ jobID: FAILED_JOB, processID: 'echo', status: 'failed', message: 'it broke', created: 1, updated: 1, started: 1, finished: 1, response: 'raw' });
  });
  after(() => server.stop());

  /** Sends with supertest and checks the JSON answer against the standard's schemas, as the client does. */
  const send = async (method: 'get' | 'put' | 'post' | 'delete', path: string, options: { body?: string | Buffer; headers?: Record<string, string> } = {}) => {
    let pending = server.client.raw()[method](path).set(options.headers ?? {});
    // Bytes as they are: superagent would serialise a Buffer sent as JSON.
    if (options.body !== undefined) pending = pending.serialize((body: string) => body).send(options.body);
    const res = await pending;
    checkAgainstStandard(path, res);
    return res;
  };
  const execute = (body: string | Buffer, headers: Record<string, string> = {}) =>
    send('post', '/processes/echo/execution', { body, headers: { 'Content-Type': 'application/json', ...headers } });

  /** The answer is a problem document of this status whose detail matches; it returns the document. */
  const assertProblem = (res: request.Response, status: number, detail: RegExp): Record<string, unknown> => {
    assert.equal(res.status, status, res.text.slice(0, 500));
    assert.equal(res.headers['content-type'], 'application/problem+json');
    const problem = JSON.parse(res.text) as Record<string, unknown>;
    assert.equal(problem.status, status);
    assert.match(String(problem.detail), detail);
    return problem;
  };

  const jobCount = async () => (await server.client.get('/jobs?limit=1')).body.numberMatched as number;
  /** The request is refused with a problem document of this status naming what is wrong, and no job is made. */
  const refuses = async (request: () => Promise<request.Response>, status: number, detail: RegExp): Promise<Record<string, unknown>> => {
    const before = await jobCount();
    const problem = assertProblem(await request(), status, detail);
    assert.equal(await jobCount(), before, 'no job was created');
    return problem;
  };

  describe('error responses are application/problem+json, with no charset parameter', () => {
    const errors: Array<{ name: string; status: number; send: (headers: Record<string, string>) => Promise<request.Response> }> = [
      { name: 'an unknown route', status: 404, send: (headers) => send('get', '/nothing-here', { headers }) },
      { name: 'a method the path does not take', status: 405, send: (headers) => send('put', '/processes', { headers }) },
      { name: 'a body that is not JSON (body parser)', status: 400, send: (headers) => execute('{"inputs": ', headers) },
      { name: 'an execute request that breaks the schema (ajv)', status: 400, send: (headers) => execute('{"response": "zip"}', headers) },
      { name: 'an unknown job (a thrown ProblemError)', status: 404, send: (headers) => send('get', '/jobs/no-such-job', { headers }) },
      { name: 'the results of a failed job (500)', status: 500, send: (headers) => send('get', `/jobs/${FAILED_JOB}/results`, { headers }) },
    ];
    for (const { name, status, send: request } of errors) {
      it(`answers ${name} with ${status} application/problem+json, or application/json to a client that takes only that`, async () => {
        const problem = await request({});
        assertProblem(problem, status, /./);
        const json = await request({ Accept: 'application/json' });
        assert.equal(json.status, status);
        assert.equal(json.headers['content-type'], 'application/json');
        assert.deepEqual(JSON.parse(json.text), JSON.parse(problem.text));
        const either = await request({ Accept: 'application/json;q=0.5, application/problem+json' });
        assert.equal(either.headers['content-type'], 'application/problem+json');
      });
    }
  });

  describe('paths and body encodings', () => {
    for (const [method, path] of [
      ['get', '/jobs/%E0%A4%A'],
      ['get', '/processes/%'],
      ['get', '/jobs/%E0%A4%A/results'],
      ['delete', '/jobs/%ZZ'],
      ['get', '/jobs/x/outputs/%?expires=1&signature=s'],
    ] as const) {
      it(`answers ${method.toUpperCase()} ${path}, a malformed percent-escape, with 400`, async () => {
        await refuses(() => send(method, path), 400, /is not valid percent-encoding/);
      });
    }

    it('answers 400 when a body is not the gzip its Content-Encoding says', async () => {
      await refuses(() => execute('{"inputs": {}}', { 'Content-Encoding': 'gzip' }), 400, /not valid gzip data/);
    });

    it('answers 415 for a Content-Encoding it does not support, naming it', async () => {
      await refuses(() => execute('{"inputs": {}}', { 'Content-Encoding': 'compress' }), 415, /Content-Encoding 'compress' is not supported/);
    });

    it('measures the body limit after decompression: a small gzip of 5 MB is 413', async () => {
      const bomb = gzipSync(`{"inputs": {}${' '.repeat(5 * 1024 * 1024)}}`);
      assert.ok(bomb.length < 64 * 1024);
      await refuses(() => execute(bomb, { 'Content-Encoding': 'gzip' }), 413, /larger than the limit of 1048576 bytes/);
    });

    it('still takes a body that really is gzip', async () => {
      const res = await execute(gzipSync('{"inputs": {"string_input": "zipped"}}'), { 'Content-Encoding': 'gzip' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, 'zipped');
    });
  });
});
