import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { connectToCluster } from '../../src/kubernetes/cluster.js';
import { startTestServer, type TestServer } from '../support/server.js';

const TEXT = 'The cat and the hat. The end!';
const SUMMARY = { words: 7, distinct: 5 };

/** A file server of the test on 127.0.0.1: /text.txt, /image.png, /big.txt (past the 10 MiB limit), /moved, /missing. */
async function startFileServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.url === '/text.txt') res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(TEXT);
    else if (req.url === '/image.png') res.writeHead(200, { 'Content-Type': 'image/png' }).end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    else if (req.url === '/big.txt') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      const chunk = Buffer.alloc(1024 * 1024, 'a');
      let left = 11;
      const more = () => {
        while (left > 0) if (!res.write(chunk) || --left === 0) break;
        if (left === 0) res.end();
      };
      res.on('drain', () => (--left > 0 ? more() : res.end()));
      more();
    } else if (req.url === '/moved') res.writeHead(302, { Location: '/text.txt' }).end();
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

describe('file inputs: as text, as a qualified value, by reference (href) under a fetch policy', () => {
  let files: { server: Server; url: string };
  let open: TestServer; // fetches from private addresses: the test's file server is on 127.0.0.1
  let guarded: TestServer; // the default policy, and an allow-list
  const openFiles = mkdtempSync(join(tmpdir(), 'job-files-'));
  const config = (filesDir: string, href: string) => `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}
manager:
  local_store: {path: ':memory:'}
  files: {path: ${JSON.stringify(filesDir)}, href: ${href}}
resources:
  word-frequencies: {type: process, processor: {name: WordFrequencies}}
`;

  before(async () => {
    files = await startFileServer();
    open = await startTestServer({ configYaml: config(openFiles, '{allow_private_networks: true, timeout_seconds: 5}') });
    guarded = await startTestServer({ configYaml: config(mkdtempSync(join(tmpdir(), 'job-files-')), '{allowed_hosts: [127.0.0.1, localhost]}') });
  });
  after(async () => {
    await Promise.all([open?.stop(), guarded?.stop()]);
    files?.server.close();
  });

  const summaryOf = async (server: TestServer, text: unknown) => {
    const res = await server.client.execute('word-frequencies', { inputs: { text }, response: 'document', outputs: { summary: {} } });
    assert.equal(res.status, 200, res.text);
    return res.body.summary.value;
  };
  /** The execution is refused with `status`, naming the input; no job and no file is left. */
  const refused = async (server: TestServer, text: unknown, status: number, pattern: RegExp) => {
    const before = (await server.client.get('/jobs')).body.numberMatched;
    const filesBefore = readdirSync(openFiles);
    const res = await server.client.execute('word-frequencies', { inputs: { text } });
    assert.equal(res.status, status, res.text);
    assert.match(res.body.detail, /input 'text'/);
    assert.match(res.body.detail, pattern);
    assert.equal((await server.client.get('/jobs')).body.numberMatched, before, 'no job was created');
    if (server === open) assert.deepEqual(readdirSync(openFiles), filesBefore, 'no file was left');
  };

  it('takes a file input as text, as a plain or base64 qualified value, and by reference', async () => {
    assert.deepEqual(await summaryOf(open, TEXT), SUMMARY);
    assert.deepEqual(await summaryOf(open, { value: TEXT, mediaType: 'text/plain' }), SUMMARY);
    assert.deepEqual(await summaryOf(open, { value: Buffer.from(TEXT).toString('base64'), mediaType: 'text/plain', encoding: 'base64' }), SUMMARY);
    assert.deepEqual(await summaryOf(open, { href: `${files.url}/text.txt`, type: 'text/plain' }), SUMMARY);
  });

  it('refuses a wrong media type, bad base64 and a value of the wrong shape, naming the input', async () => {
    await refused(open, { value: 'iVBORw0KGgo=', mediaType: 'image/png', encoding: 'base64' }, 400, /has media type image\/png; this input takes text\/plain/);
    await refused(open, { href: `${files.url}/image.png` }, 400, /has media type image\/png/);
    await refused(open, { value: 'not base64!', encoding: 'base64' }, 400, /not valid base64/);
    await refused(open, 42, 400, /is a file input: give text/);
    await refused(open, { value: TEXT, mediaType: ['text/plain'] }, 400, /has a mediaType that is not a string/);
    await refused(open, { href: `${files.url}/text.txt`, type: {} }, 400, /has a type that is not a string/);
  });

  it('refuses an input over its limit while fetching it (413), and leaves nothing behind', async () => {
    await refused(open, { href: `${files.url}/big.txt` }, 413, /larger than its limit of 10485760 bytes/);
  });

  it('refuses references it cannot fetch: unreachable, not found, redirected', async () => {
    const closed = await startFileServer();
    closed.server.close();
    await refused(open, { href: `${closed.url}/text.txt` }, 400, /could not be fetched: .*ECONNREFUSED|could not be fetched/);
    await refused(open, { href: `${files.url}/missing` }, 400, /answered 404/);
    await refused(open, { href: `${files.url}/moved` }, 400, /answered 302 \(redirects are not followed\)/);
    await refused(open, { href: 'not a url' }, 400, /is not a URL/);
    await refused(open, { href: 's3://bucket/key.txt' }, 400, /is an s3:\/\/ reference, but this server keeps no data bucket/);
  });

  it('never fetches from link-local or metadata addresses, nor private ones, nor hosts off the allow-list, nor other schemes', async () => {
    await refused(open, { href: 'http://169.254.169.254/latest/meta-data/' }, 400, /link-local, metadata/);
    await refused(open, { href: 'http://[fd00:ec2::254]/latest/meta-data/' }, 400, /link-local, metadata/);
    await refused(open, { href: 'http://[::ffff:169.254.169.254]/' }, 400, /link-local, metadata/);
    await refused(open, { href: 'http://[64:ff9b::a9fe:a9fe]/' }, 400, /link-local, metadata/); // NAT64 to the metadata address
    await refused(open, { href: 'http://[::a9fe:a9fe]/' }, 400, /link-local, metadata/); // IPv4-compatible form
    await refused(open, { href: 'file:///etc/passwd' }, 400, /only http and https URLs are reached, not file:/);
    await refused(open, { href: 'http://user:secret@127.0.0.1/x' }, 400, /URLs with credentials in them are not reached/);
    await refused(guarded, { href: 'http://127.0.0.2/text.txt' }, 400, /host 127\.0\.0\.2 is not one of manager\.files\.href\.allowed_hosts/);
    await refused(guarded, { href: `${files.url}/text.txt` }, 400, /127\.0\.0\.1 is a loopback or private address/);
    await refused(guarded, { href: `${files.url.replace('127.0.0.1', 'localhost')}/text.txt` }, 400, /localhost resolves to .*loopback or private address/);
  });
});

describe('image processes with files: start-up needs the data bucket and the stager image', () => {
  it('refuses to start without them, naming the processes and what to set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'no-bucket-'));
    const kubeconfig = join(dir, 'kubeconfig');
    // a cluster that is never reached: the check comes first
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');
    const configYaml = `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}
manager: {local_store: {path: ':memory:'}}
resources:
  shout:
    type: process
    processor: {name: GenericImageProcessor, image: example.test/shout:1, files: {outputs: {shouted: {media_type: text/plain}}}, metadata: {title: shout}}
`;
    await assert.rejects(startTestServer({ configYaml, cluster: connectToCluster({ KUBECONFIG: kubeconfig })! }), /process 'shout' takes or returns files, which their pods stage through a data bucket: set the K8S_MANAGER_DATA_BUCKET_\* variables and manager\.kubernetes\.stager\.image/);
  });
});

describe('file inputs when the data bucket is down', () => {
  it('answers 502 naming the store, and creates no job', async function () {
    this.timeout(30_000);
    const closed = await startFileServer();
    closed.server.close(); // a port where nothing listens
    const server = await startTestServer({
      env: {
        K8S_MANAGER_DATA_BUCKET_ENDPOINT: closed.url,
        K8S_MANAGER_DATA_BUCKET_KEY: 'key',
        K8S_MANAGER_DATA_BUCKET_SECRET: 'a-secret-that-must-not-show',
        K8S_MANAGER_DATA_BUCKET_NAME: 'job-data',
        K8S_MANAGER_DATA_BUCKET_PATH_PREFIX: 'jobs/',
      },
      configYaml: 'server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}\nmanager: {local_store: {path: \':memory:\'}}\nresources:\n  word-frequencies: {type: process, processor: {name: WordFrequencies}}\n',
    });
    try {
      const res = await server.client.execute('word-frequencies', { inputs: { text: TEXT } });
      assert.equal(res.status, 502, res.text);
      assert.equal(res.body.type, 'urn:ogcapi-k8s-manager:problem:files-unavailable');
      assert.match(res.body.detail, /input files could not be stored, so no job was created/);
      assert.doesNotMatch(res.text, /a-secret-that-must-not-show/);
      assert.equal((await server.client.get('/jobs')).body.numberMatched, 0);
    } finally {
      await server.stop();
    }
  });
});
