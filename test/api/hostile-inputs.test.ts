import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import type request from 'supertest';
import { openSqliteJobStore } from '../../src/jobs/sqlite-store.js';
import { checkAgainstStandard } from '../support/client.js';
import { assertOgc } from '../support/ogc-schemas.js';
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

  describe('JSON that parses but cannot be kept', () => {
    /** An execute request whose object_input nests arrays so that the whole body is `levels` deep. */
    const nested = (levels: number) => `{"inputs": {"object_input": {"a": ${'['.repeat(levels - 3)}${']'.repeat(levels - 3)}}}, "response": "document"}`;

    it('takes a body nested as deep as the limit (100 levels)', async () => {
      const res = await execute(nested(100));
      assert.equal(res.status, 200, res.text.slice(0, 300));
    });

    for (const levels of [101, 5000, 400_000]) {
      it(`refuses a body nested ${levels} levels deep with 400 naming the limit`, async () => {
        await refuses(() => execute(nested(levels)), 400, /more than 100 levels deep.*server\.limits\.max_body_depth.*at \/inputs\/object_input\/a\/0\/0/);
      });
    }

    for (const { input, value, at } of [
      { input: 'number_input', value: '1e400', at: '/inputs/number_input' },
      { input: 'array_input', value: '[1, -1e400]', at: '/inputs/array_input/1' },
    ]) {
      it(`refuses a number that overflows a double (${value}) with 400 naming the input`, async () => {
        await refuses(() => execute(`{"inputs": {"${input}": ${value}}, "response": "document"}`), 400, new RegExp(`number at ${at} is beyond what a 64-bit float holds`));
      });
    }
  });

  describe('names that are Object.prototype members are plain unknown names', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      it(`answers an input called ${name} with 400 unknown input`, async () => {
        const problem = await refuses(() => execute(`{"inputs": {"${name}": {"a": 1}}}`), 400, new RegExp(`input '${name}': is not an input of process 'echo'`));
        const [invalid, ...more] = problem.invalidInputs as Array<{ input: string; problem: string }>;
        assert.equal(more.length, 0);
        assert.equal(invalid!.input, name);
        assert.match(invalid!.problem, /^is not an input of process 'echo' \(its inputs: string_input, number_input, .*, pause\)$/);
      });

      it(`answers an output called ${name} with 400 unknown output`, async () => {
        await refuses(() => execute(`{"inputs": {}, "outputs": {"${name}": {}}}`), 400, new RegExp(`output '${name}' is not an output of process 'echo'`));
      });
    }
  });

  describe('unknown members of an execute request', () => {
    it('answers a misspelt member ("respone") with 400 naming it', async () => {
      await refuses(
        () => execute('{"inputs": {"string_input": "a"}, "respone": "document"}'),
        400,
        /'respone' is not a member of an execute request \(its members: inputs, outputs, response, subscriber\)/,
      );
      await refuses(() => execute('{"inputs": {}, "mode": "async"}'), 400, /'mode' is not a member .*; ask for asynchronous execution with the header Prefer: respond-async/);
    });

    it('takes the members the standard defines, subscriber included', async () => {
      const res = await execute(JSON.stringify({
        inputs: { string_input: 'a' },
        outputs: { string_input: { transmissionMode: 'value' } },
        response: 'document',
        subscriber: { successUri: 'https://hooks.example.org/done', inProgressUri: 'https://hooks.example.org/running', failedUri: 'https://hooks.example.org/failed' },
      }));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(JSON.parse(res.text), { string_input: 'a' });
    });
  });

  describe('requests with tens of thousands of problems get small answers', () => {
    const SMALL = 64 * 1024;
    const many = (prefix: string, count = 50_000) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, i]));

    it('lists the first 20 of 50,000 unknown inputs and counts them all', async () => {
      const problem = await refuses(() => execute(JSON.stringify({ inputs: many('nope') })), 400, /input 'nope0': is not an input.*; and 49980 more$/);
      assert.ok(JSON.stringify(problem).length < SMALL);
      assert.equal((problem.invalidInputs as unknown[]).length, 20);
      assert.equal(problem.invalidInputCount, 50_000);
    });

    it('lists the first 20 of 50,000 unknown members and of 50,000 unknown outputs', async () => {
      const members = await refuses(() => execute(JSON.stringify({ inputs: {}, ...many('extra') })), 400, /'extra0' is not a member.*; and 49980 more$/);
      assert.ok(JSON.stringify(members).length < SMALL);
      const outputs = await refuses(() => execute(JSON.stringify({ inputs: {}, outputs: many('out') })), 400, /output 'out0' is not an output.*; and 49980 more$/);
      assert.ok(JSON.stringify(outputs).length < SMALL);
    });

    it('cuts a huge unknown name short', async () => {
      const name = 'n'.repeat(500_000);
      const inputs = await refuses(() => execute(`{"inputs": {"${name}": 1}}`), 400, /input 'n{80}…'/);
      assert.ok(JSON.stringify(inputs).length < SMALL);
      const member = await refuses(() => execute(`{"${name}": 1}`), 400, /'n{80}…' is not a member/);
      assert.ok(JSON.stringify(member).length < SMALL);
    });

    it('lists the first 20 of 7,000 bad query values', async () => {
      const res = await send('get', `/jobs?status=${Array.from({ length: 7000 }, () => 'x').join(',')}`);
      assertProblem(res, 400, /parameter 'status\/0': must be one of .*; and 6980 more$/);
      assert.ok(res.text.length < SMALL, `${res.text.length} bytes`);
    });

    it('answers 20 such requests at once, each with a small document', async () => {
      const body = JSON.stringify({ inputs: many('k') });
      const before = await jobCount();
      const answers = await Promise.all(Array.from({ length: 20 }, () => execute(body)));
      for (const res of answers) {
        assertProblem(res, 400, /and 49980 more$/);
        assert.ok(res.text.length < SMALL, `${res.text.length} bytes`);
      }
      assert.equal(await jobCount(), before, 'no job was created');
    });
  });

  describe('qualified values', () => {
    const echoed = async (objectInput: unknown) => {
      const res = await execute(JSON.stringify({ inputs: { object_input: objectInput }, response: 'document' }));
      assert.equal(res.status, 200, res.text);
      return JSON.parse(res.text) as Record<string, unknown>;
    };

    it('unwraps a qualified object value, so the results wrap it once', async () => {
      assert.deepEqual(await echoed({ value: { a: 1 }, mediaType: 'application/json' }), { object_input: { value: { a: 1 }, mediaType: 'application/json' } });
      assert.deepEqual(await echoed({ value: { a: 1 } }), { object_input: { value: { a: 1 }, mediaType: 'application/json' } });
    });

    it('still takes a bare object, one with a value member too when that value alone would not fit', async () => {
      assert.deepEqual(await echoed({ a: 1 }), { object_input: { value: { a: 1 }, mediaType: 'application/json' } });
      assert.deepEqual(await echoed({ value: 'teststring' }), { object_input: { value: { value: 'teststring' }, mediaType: 'application/json' } });
    });

    it('checks the value inside a qualified value against the schema', async () => {
      await refuses(() => execute('{"inputs": {"object_input": {"value": 3, "mediaType": "application/json"}}}'), 400, /input 'object_input': must be object/);
    });
  });
});

describe('hostile inputs: slow and malformed HTTP gets a problem document in bounded time', () => {
  let server: TestServer;
  before(async () => {
    const limits = 'limits: {headers_timeout_seconds: 1, request_timeout_seconds: 2}';
    server = await startTestServer({ configYaml: DEFAULT_TEST_CONFIG.replace('bind: {host: 127.0.0.1, port: 0}', `bind: {host: 127.0.0.1, port: 0}\n  ${limits}`) });
  });
  after(() => server.stop());

  /** Writes raw bytes on a new connection and reads until the server closes it (or 10 s pass). */
  const exchange = (text: string) =>
    new Promise<{ ms: number; status: number; type: string | undefined; body: Record<string, unknown> }>((resolve, reject) => {
      const started = Date.now();
      const { port } = new URL(server.url);
      const socket = connect(Number(port), '127.0.0.1');
      let received = '';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`the server kept the connection open for 10 s; it sent: ${received.slice(0, 200)}`));
      }, 10_000);
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (received += chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(timer);
        const [head = '', body = ''] = received.split('\r\n\r\n');
        const parsed = body ? (JSON.parse(body) as Record<string, unknown>) : {};
        if (body) assertOgc('exception', parsed);
        resolve({ ms: Date.now() - started, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), type: /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1], body: parsed });
      });
      socket.write(text);
    });

  it('answers 408 and closes the connection when a body stops short of its Content-Length', async () => {
    const before = (await server.client.get('/jobs?limit=1')).body.numberMatched as number;
    const res = await exchange('POST /processes/echo/execution HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"inputs": ');
    assert.equal(res.status, 408);
    assert.equal(res.type, 'application/problem+json');
    assert.match(String(res.body.detail), /whole request within 2 s/);
    assert.ok(res.ms < 5000, `answered after ${res.ms} ms`);
    assert.equal((await server.client.get('/jobs?limit=1')).body.numberMatched, before, 'no job was created');
  });

  it('answers 408 when the headers never end', async () => {
    const res = await exchange('GET /processes HTTP/1.1\r\nHost: test\r\n');
    assert.equal(res.status, 408);
    assert.match(String(res.body.detail), /headers within 1 s/);
    assert.ok(res.ms < 4000, `answered after ${res.ms} ms`);
  });

  it('answers 400 problem+json to a request that is not HTTP, and 431 to headers too large', async () => {
    const garbage = await exchange('HELLO\r\n\r\n');
    assert.equal(garbage.status, 400);
    assert.equal(garbage.type, 'application/problem+json');
    const huge = await exchange(`GET / HTTP/1.1\r\nHost: test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.equal(huge.status, 431);
  });

  it('does not cut off a synchronous execution that runs longer than the request timeout', async () => {
    const res = await server.client.execute('echo', { inputs: { string_input: 'slow', pause: 3 } });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'slow');
  });
});
