import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startTestServer, type TestServer } from '../support/server.js';

const TEXT = 'The cat and the hat. The end!';
const CSV = 'word,count\nthe,3\nand,1\ncat,1\nend,1\nhat,1\n';

describe('file outputs: by reference (expiring links), by value and raw (local process word-frequencies)', () => {
  let server: TestServer;
  let now = Date.now();
  const clock = { now: () => now };
  const filesDir = mkdtempSync(join(tmpdir(), 'job-files-'));

  before(async () => {
    server = await startTestServer({
      clock,
      configYaml: `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}
manager:
  local_store: {path: ':memory:'}
  files: {path: ${JSON.stringify(filesDir)}, max_inline_bytes: 64, link_ttl_seconds: 60}
resources:
  word-frequencies: {type: process, processor: {name: WordFrequencies}}
`,
    });
  });
  after(() => server.stop());

  const execute = (body: Record<string, unknown>, headers: Record<string, string> = {}) => server.client.execute('word-frequencies', { inputs: { text: TEXT }, ...body }, headers);
  const byReference = { response: 'document', outputs: { frequencies: { transmissionMode: 'reference' } } };
  /** The link a results document gives for the file output, as a path and query on this server. */
  const linkOf = (body: { frequencies: { href: string } }) => {
    const href = new URL(body.frequencies.href);
    assert.equal(href.origin, server.url);
    return `${href.pathname}${href.search}`;
  };

  it('describes the file output with its media type and offers it by value and by reference', async () => {
    const res = await server.client.get('/processes/word-frequencies');
    assert.deepEqual(res.body.outputTransmission, ['value', 'reference']);
    assert.equal(res.body.outputs.frequencies.schema.contentMediaType, 'text/csv');
  });

  it('gives a link for an output asked by reference, and the link serves the file byte for byte with its media type', async () => {
    const res = await execute(byReference);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.frequencies.type, 'text/csv');
    assert.match(res.body.frequencies.href, /\/jobs\/[0-9a-f-]{36}\/outputs\/frequencies\?expires=\d+&signature=/);
    const file = await server.client.raw().get(linkOf(res.body)).buffer(true);
    assert.equal(file.status, 200);
    assert.match(file.headers['content-type']!, /^text\/csv/);
    assert.equal(file.headers['content-length'], String(Buffer.byteLength(CSV)));
    assert.equal(file.text, CSV);
  });

  it('returns a small file by value inside a results document, and raw as the response itself', async () => {
    const document = await execute({ response: 'document', outputs: { frequencies: {} } });
    assert.deepEqual(document.body, { frequencies: { value: CSV, mediaType: 'text/csv' } });
    const raw = await execute({ outputs: { frequencies: {} } });
    assert.match(raw.headers['content-type']!, /^text\/csv/);
    assert.equal(raw.text, CSV);
    const both = await server.client.raw().post('/processes/word-frequencies/execution').send({ inputs: { text: TEXT } }).buffer(true).parse((res, done) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => done(null, text));
    });
    assert.match(both.headers['content-type']!, /^multipart\/related; boundary="results-/);
    assert.ok((both.body as string).includes(`Content-ID: <frequencies>\r\nContent-Type: text/csv\r\n\r\n${CSV}\r\n`), both.body as string);
  });

  it('answers raw outputs all asked by reference with 204 and a Link header each, sync and async alike', async () => {
    const request = { outputs: { frequencies: { transmissionMode: 'reference' } } };
    const sync = await execute(request);
    const created = await execute(request, { Prefer: 'respond-async' });
    await eventually(async () => (await server.client.get(`/jobs/${created.body.jobID}`)).body.status, (s) => s === 'successful');
    const async_ = await server.client.get(`/jobs/${created.body.jobID}/results`);
    for (const res of [sync, async_]) {
      assert.equal(res.status, 204, res.text);
      assert.equal(res.text, '');
      const link = /(?:^|, )<([^>]+)>; rel="item"; type="text\/csv"; title="frequencies"(?:$|, <)/.exec(res.headers['link']!);
      assert.ok(link, res.headers['link']);
      if (res === sync) assert.match(res.headers['link']!, /rel="monitor"/, 'the monitor link stays beside it');
      const href = new URL(link[1]!);
      assert.equal((await server.client.raw().get(`${href.pathname}${href.search}`)).text, CSV);
    }
  });

  it('gives an output asked by reference as an empty part with its Content-Location in a raw multipart answer', async () => {
    const mixed = await server.client.raw().post('/processes/word-frequencies/execution')
      .send({ inputs: { text: TEXT }, outputs: { frequencies: { transmissionMode: 'reference' }, summary: {} } })
      .buffer(true).parse((res, done) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => done(null, text));
      });
    assert.equal(mixed.status, 200);
    const body = mixed.body as string;
    const part = /Content-ID: <frequencies>\r\nContent-Type: text\/csv\r\nContent-Location: (\S+)\r\n\r\n\r\n--results-/.exec(body);
    assert.ok(part, body);
    const href = new URL(part[1]!);
    assert.equal((await server.client.raw().get(`${href.pathname}${href.search}`)).text, CSV);
    assert.ok(body.includes('Content-ID: <summary>\r\nContent-Type: application/json\r\n\r\n{"words":7,"distinct":5}\r\n'), body);
  });

  it('refuses a file larger than max_inline_bytes by value in a results document, naming the output and the ways to get it', async () => {
    const big = await server.client.execute('word-frequencies', { inputs: { text: 'one two three four five six seven eight nine ten' }, response: 'document' });
    assert.equal(big.status, 422, big.text);
    assert.equal(big.body.type, 'urn:ogcapi-k8s-manager:problem:output-too-large');
    assert.match(big.body.detail, /Output 'frequencies' is a file of \d+ bytes; .* at most 64 bytes .*"transmissionMode": "reference".*"response": "raw"/);
    const href = /This job's file is at (\S+)$/.exec(big.body.detail)![1]!;
    assert.match((await server.client.raw().get(new URL(href).pathname + new URL(href).search)).text, /^word,count\n/, 'and the problem links to it');
  });

  it('refuses links that expired, were changed or name another output, and link queries that are malformed', async () => {
    const link = linkOf((await execute(byReference)).body);
    const refused = async (path: string, pattern: RegExp) => {
      const res = await server.client.get(path);
      assert.equal(res.status, 403, res.text);
      assert.equal(res.body.type, 'urn:ogcapi-k8s-manager:problem:link-refused');
      assert.match(res.body.detail, pattern);
    };
    await refused(link.replace(/signature=[^&]+/, 'signature=forged'), /not issued by this server/);
    await refused(link.replace(/expires=(\d+)/, (_, t: string) => `expires=${Number(t) + 3600}`), /not issued by this server/);
    await refused(link.replace('/outputs/frequencies', '/outputs/summary'), /not issued by this server/);
    now += 61_000;
    try {
      await refused(link, /expired at/);
    } finally {
      now -= 61_000;
    }
    const missing = await server.client.get(link.replace(/&signature=[^&]+/, ''));
    assert.equal(missing.status, 400);
    assert.match(missing.body.detail, /signature/);
    const unknown = await server.client.get(`${link}&download=1`);
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.detail, /Unknown query parameter 'download'/);
  });

  it('follows the same rules for an async job\'s results, and dismissing the finished job removes its file', async () => {
    const created = await execute(byReference, { Prefer: 'respond-async' });
    assert.equal(created.status, 201);
    const jobID = created.body.jobID as string;
    await eventually(async () => (await server.client.get(`/jobs/${jobID}`)).body.status, (s) => s === 'successful');
    const link = linkOf((await server.client.get(`/jobs/${jobID}/results`)).body);
    assert.equal((await server.client.raw().get(link)).text, CSV);
    assert.ok(existsSync(join(filesDir, jobID)), 'the file is kept under the configured folder');
    assert.equal((await server.client.delete(`/jobs/${jobID}`)).status, 200);
    assert.equal(existsSync(join(filesDir, jobID)), false, 'the job\'s files are removed with it');
    const gone = await server.client.get(link);
    assert.equal(gone.status, 404);
    assert.match(gone.body.type, /no-such-job/);
  });
});
