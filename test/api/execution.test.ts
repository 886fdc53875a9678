import assert from 'node:assert/strict';
import { assertOgc } from '../support/ogc-schemas.js';
import { startTestServer, DEFAULT_TEST_CONFIG, type TestServer } from '../support/server.js';

const NO_SUCH_PROCESS = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-process';
const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';

describe('execution: POST /processes/{id}/execution', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer({ configYaml: DEFAULT_TEST_CONFIG.replace('sync_wait_seconds: 5', 'sync_wait_seconds: 2').replace("bind: {host: 127.0.0.1, port: 0}", "bind: {host: 127.0.0.1, port: 0}\n  limits: {max_body_bytes: 4096}") })));
  after(() => server.stop());

  const jobCount = async () => (await server.client.get('/jobs?limit=1')).body.numberMatched as number;

  describe('synchronous (the default when a process allows both modes)', () => {
    it('answers one string output raw, as text/plain', async () => {
      const res = await server.client.execute('echo', { inputs: { string_input: 'hello' } });
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type']!, /^text\/plain/);
      assert.equal(res.text, 'hello');
      assert.equal(res.headers['preference-applied'], undefined);
      assert.match(res.headers.link!, /\/jobs\/[0-9a-f-]+>; rel="monitor"/);
    });

    it('answers one JSON output raw, as application/json', async () => {
      const res = await server.client.execute('echo', { inputs: { object_input: { a: [1, 2] } } });
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type']!, /^application\/json/);
      assert.deepEqual(JSON.parse(res.text), { a: [1, 2] });
    });

    it('answers several outputs raw as multipart/related, one part per output', async () => {
      const res = await server.client
        .raw()
        .post('/processes/echo/execution')
        .set('Content-Type', 'application/json')
        .send({ inputs: { string_input: 'x', number_input: 4.5, boolean_input: false } })
        .buffer(true)
        .parse((response, done) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => done(null, body));
        });
      assert.equal(res.status, 200);
      const type = res.headers['content-type']!;
      assert.match(type, /^multipart\/related; boundary="[^"]+"/);
      const boundary = /boundary="([^"]+)"/.exec(type)![1]!;
      const text = res.body as string;
      const parts = text.split(`--${boundary}`).slice(1, -1).map((part: string) => part.trim());
      assert.equal(parts.length, 3);
      assert.match(parts[0]!, /Content-ID: <string_input>\r\nContent-Type: text\/plain\r\n\r\nx$/);
      assert.match(parts[1]!, /Content-ID: <number_input>\r\nContent-Type: application\/json\r\n\r\n4\.5$/);
      assert.match(parts[2]!, /Content-ID: <boolean_input>\r\nContent-Type: application\/json\r\n\r\nfalse$/);
    });

    it('answers response=document with a results document', async () => {
      const res = await server.client.execute('echo', {
        inputs: { string_input: 's', array_input: [1, 'two'], object_input: { k: 'v' } },
        response: 'document',
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {
        string_input: 's',
        object_input: { value: { k: 'v' }, mediaType: 'application/json' },
        array_input: [1, 'two'],
      });
    });

    it('returns only the requested outputs', async () => {
      const res = await server.client.execute('echo', {
        inputs: { string_input: 's', number_input: 1 },
        outputs: { number_input: { transmissionMode: 'value' } },
        response: 'document',
      });
      assert.deepEqual(res.body, { number_input: 1 });
    });

    it('accepts qualified input values', async () => {
      const res = await server.client.execute('echo', { inputs: { string_input: { value: 'q', mediaType: 'text/plain' } }, response: 'document' });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { string_input: 'q' });
    });

    it('greets with hello-world', async () => {
      const res = await server.client.execute('hello-world', { inputs: { name: 'Ada', message: 'Welcome.' } });
      assert.equal(res.status, 200);
      assert.equal(res.text, 'Hello Ada! Welcome.');
    });

    it('records a synchronous execution as a successful job', async () => {
      const res = await server.client.execute('hello-world', { inputs: { name: 'Job' } });
      const location = /<([^>]+)>/.exec(res.headers.link!)![1]!;
      const status = await server.client.get(location.slice(server.url.length));
      assert.equal(status.body.status, 'successful');
      assert.equal(status.body.processID, 'hello-world');
    });

    it('honours Prefer: wait=N and says so in Preference-Applied', async () => {
      const res = await server.client.execute('echo', { inputs: { string_input: 'w' } }, { Prefer: 'wait=1' });
      assert.equal(res.status, 200);
      assert.equal(res.headers['preference-applied'], 'wait=1');
    });

    it('answers 201 as an async job when the job outlives the wait bound', async () => {
      const res = await server.client.execute('echo', { inputs: { pause: 3 } }, { Prefer: 'wait=1' });
      assert.equal(res.status, 201);
      assert.equal(res.headers['preference-applied'], 'wait=1');
      assert.equal(res.body.status, 'running');
      assert.ok(res.headers.location);
      await server.client.delete(`/jobs/${res.body.jobID}`);
    });
  });

  describe('asynchronous (Prefer: respond-async)', () => {
    it('answers 201 with Location, Preference-Applied and a statusInfo; the job already exists', async () => {
      const res = await server.client.execute('echo', { inputs: { string_input: 'a', pause: 1 } }, { Prefer: 'respond-async' });
      assert.equal(res.status, 201);
      assert.equal(res.headers['preference-applied'], 'respond-async');
      assert.equal(res.headers.location, `${server.url}/jobs/${res.body.jobID}`);
      assert.equal(res.body.status, 'accepted');
      assert.equal(res.body.type, 'process');
      assert.equal(res.body.processID, 'echo');
      for (const field of ['created', 'updated']) assert.ok(res.body[field], field);
      const rels = res.body.links.map((l: { rel: string }) => l.rel);
      assert.ok(rels.includes('self') && rels.includes('status'));
      const status = await server.client.get(`/jobs/${res.body.jobID}`);
      assert.equal(status.status, 200);
      await server.client.delete(`/jobs/${res.body.jobID}`);
    });

    it('parses Prefer per RFC 7240: case, parameters, several headers, quoted values', async () => {
      for (const prefer of ['RESPOND-ASYNC', 'handling=lenient, respond-async; foo="a,b"', 'wait=10, respond-async']) {
        const res = await server.client.execute('echo', { inputs: { pause: 1 } }, { Prefer: prefer });
        assert.equal(res.status, 201, prefer);
        assert.equal(res.headers['preference-applied'], 'respond-async', prefer);
        await server.client.delete(`/jobs/${res.body.jobID}`);
      }
    });
  });

  describe('echo inputs of each kind the OGC test suite exercises', () => {
    const bbox = { bbox: [51.9, 7, 52, 7.1], crs: CRS84 };

    it('echoes a bounding box, a text/csv string, a string-or-number and an integer array in a results document', async () => {
      const request = {
        inputs: { bbox_input: bbox, csv_input: 'a,b\n1,2\n', string_or_number_input: 4.5, integer_array_input: [1, 2, 3] },
        response: 'document',
      };
      assertOgc('execute', request);
      const res = await server.client.execute('echo', request);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {
        bbox_input: { value: bbox, mediaType: 'application/json' },
        csv_input: 'a,b\n1,2\n',
        string_or_number_input: 4.5,
        integer_array_input: [1, 2, 3],
      });
      assertOgc('bbox', res.body.bbox_input.value);
    });

    it('answers each raw in the media type its output declares', async () => {
      const cases: Array<[string, unknown, RegExp, string]> = [
        ['bbox_input', bbox, /^application\/json/, JSON.stringify(bbox)],
        ['csv_input', 'a,b\n1,2\n', /^text\/csv/, 'a,b\n1,2\n'],
        ['string_or_number_input', 'seven', /^application\/json/, '"seven"'],
        ['string_or_number_input', 7, /^application\/json/, '7'],
      ];
      for (const [input, value, type, body] of cases) {
        const res = await server.client.execute('echo', { inputs: { [input]: value } });
        assert.equal(res.status, 200, input);
        assert.match(res.headers['content-type']!, type, input);
        assert.equal(res.text, body, input);
      }
    });

    it('accepts them as qualified values', async () => {
      const res = await server.client.execute('echo', {
        inputs: { bbox_input: { value: bbox }, csv_input: { value: 'a\n', mediaType: 'text/csv' }, string_or_number_input: { value: 'x' } },
        response: 'document',
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { bbox_input: { value: bbox, mediaType: 'application/json' }, csv_input: 'a\n', string_or_number_input: 'x' });
    });
  });

  describe('rejected requests create nothing', () => {
    const cases: Array<{ name: string; send: (s: TestServer) => Promise<{ status: number; text: string; headers: Record<string, string> }>; status: number; detail: RegExp }> = [
      { name: 'malformed JSON', send: (s) => s.client.raw().post('/processes/echo/execution').set('Content-Type', 'application/json').send('{"inputs": '), status: 400, detail: /not valid JSON/ },
      { name: 'a body that is not an object', send: (s) => s.client.execute('echo', [1, 2]), status: 400, detail: /execute schema.*must be object/ },
      { name: 'a wrong content type', send: (s) => s.client.raw().post('/processes/echo/execution').set('Content-Type', 'text/plain').send('{}'), status: 415, detail: /application\/json, not text\/plain/ },
      { name: 'a missing content type', send: (s) => s.client.raw().post('/processes/echo/execution').send(Buffer.from('{}')), status: 415, detail: /Content-Type header is missing/ },
      { name: 'a body over the limit', send: (s) => s.client.execute('echo', { inputs: { string_input: 'x'.repeat(5000) } }), status: 413, detail: /larger than the limit of 4096 bytes/ },
      { name: 'an unknown input', send: (s) => s.client.execute('echo', { inputs: { nope: 1 } }), status: 400, detail: /input 'nope': is not an input of process 'echo'/ },
      { name: 'a value of the wrong type', send: (s) => s.client.execute('echo', { inputs: { number_input: 'three', boolean_input: 1 } }), status: 400, detail: /input 'number_input': must be number.*input 'boolean_input': must be boolean/ },
      { name: 'a value out of range', send: (s) => s.client.execute('echo', { inputs: { pause: -1 } }), status: 400, detail: /input 'pause': must be >= 0/ },
      { name: 'a bounding box of three numbers', send: (s) => s.client.execute('echo', { inputs: { bbox_input: { bbox: [1, 2, 3], crs: CRS84 } } }), status: 400, detail: /input 'bbox_input': \/bbox must NOT have fewer than 4 items/ },
      { name: 'a bounding box without its CRS', send: (s) => s.client.execute('echo', { inputs: { bbox_input: { bbox: [0, 0, 1, 1] } } }), status: 400, detail: /input 'bbox_input': \/crs is required/ },
      { name: 'a bounding box in another CRS', send: (s) => s.client.execute('echo', { inputs: { bbox_input: { bbox: [0, 0, 1, 1], crs: 'EPSG:4326' } } }), status: 400, detail: /input 'bbox_input': \/crs must be one of "http:\/\/www\.opengis\.net\/def\/crs\/OGC\/1\.3\/CRS84"/ },
      { name: 'array items of the wrong type', send: (s) => s.client.execute('echo', { inputs: { integer_array_input: [1, 'two', 3.5] } }), status: 400, detail: /input 'integer_array_input': \/1 must be integer/ },
      { name: 'a value of neither type of a mixed input', send: (s) => s.client.execute('echo', { inputs: { string_or_number_input: true } }), status: 400, detail: /input 'string_or_number_input': must be string.*must be number/ },
      { name: 'a qualified value of another media type', send: (s) => s.client.execute('echo', { inputs: { csv_input: { value: 'x', mediaType: 'image/png' } } }), status: 400, detail: /input 'csv_input': has media type image\/png; this input takes text\/csv/ },
      { name: 'an object for a text/csv input', send: (s) => s.client.execute('echo', { inputs: { csv_input: { type: 'wrong/type' } } }), status: 400, detail: /input 'csv_input': must be string/ },
      { name: 'a missing required input', send: (s) => s.client.execute('hello-world', { inputs: {} }), status: 400, detail: /input 'name': is required/ },
      { name: 'several values for a single input', send: (s) => s.client.execute('hello-world', { inputs: { name: ['a', 'b'] } }), status: 400, detail: /input 'name': must be string/ },
      { name: 'a reference input', send: (s) => s.client.execute('echo', { inputs: { string_input: { href: 'http://127.0.0.1/x' } } }), status: 400, detail: /reference \(href\)/ },
      { name: 'an unknown output', send: (s) => s.client.execute('echo', { inputs: {}, outputs: { nope: {} } }), status: 400, detail: /output 'nope' is not an output/ },
      { name: 'an output by reference', send: (s) => s.client.execute('echo', { inputs: { string_input: 'a' }, outputs: { string_input: { transmissionMode: 'reference' } } }), status: 400, detail: /transmissionMode 'reference' is not offered/ },
      { name: 'an output format not offered', send: (s) => s.client.execute('echo', { inputs: { string_input: 'a' }, outputs: { string_input: { format: { mediaType: 'image/png' } } } }), status: 400, detail: /mediaType 'image\/png' is not offered/ },
      { name: 'an unknown response mode', send: (s) => s.client.execute('echo', { inputs: {}, response: 'zip' }), status: 400, detail: /response: must be one of "raw", "document"/ },
      { name: 'inputs that are not an object', send: (s) => s.client.execute('echo', { inputs: 'x' }), status: 400, detail: /inputs: must be object/ },
      { name: 'an unknown process', send: (s) => s.client.execute('nope', { inputs: {} }), status: 404, detail: /no process 'nope'/ },
      { name: 'an unknown query parameter', send: (s) => s.client.post('/processes/echo/execution?mode=async', { inputs: {} }), status: 400, detail: /Unknown query parameter 'mode'/ },
    ];
    for (const { name, send, status, detail } of cases) {
      it(`answers ${status} for ${name}`, async () => {
        const before = await jobCount();
        const res = await send(server);
        assert.equal(res.status, status, res.text);
        assert.match(res.headers['content-type']!, /^application\/problem\+json/);
        const problem = JSON.parse(res.text);
        assert.equal(problem.status, status);
        assert.match(problem.detail, detail);
        if (status === 404) assert.equal(problem.type, NO_SUCH_PROCESS);
        assert.equal(await jobCount(), before, 'no job was created');
      });
    }

    it('lists each bad input in invalidInputs', async () => {
      const res = await server.client.execute('echo', { inputs: { nope: 1, number_input: 'x' } });
      const problem = JSON.parse(res.text);
      assert.deepEqual(problem.invalidInputs.map((p: { input: string }) => p.input).sort(), ['nope', 'number_input']);
    });
  });
});
