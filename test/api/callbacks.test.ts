import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertOgc } from '../support/ogc-schemas.js';
import { CallbackReceiver } from '../support/receiver.js';
import { eventually, startTestServer, type TestServer } from '../support/server.js';

const config = (notifications: string, store = "':memory:'") => `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}
manager:
  local_store: {path: ${store}}
  notifications: {${notifications}}
resources:
  echo: {type: process, processor: {name: Echo}}
  word-frequencies: {type: process, processor: {name: WordFrequencies}}
`;
const FAST_RETRIES = 'allow_private_networks: true, timeout_seconds: 2, initial_backoff_seconds: 0.05, max_backoff_seconds: 0.2, max_attempts: 5, sweep_seconds: 0.2';

describe('callbacks: subscriber URIs called when a job runs, succeeds or fails (local processes)', () => {
  let server: TestServer;
  let receiver: CallbackReceiver;

  before(async () => {
    receiver = await new CallbackReceiver().start();
    server = await startTestServer({ configYaml: config(FAST_RETRIES) });
  });
  after(async () => {
    await server?.stop();
    await receiver?.stop();
  });

  const submit = async (processId: string, inputs: Record<string, unknown>, subscriber: Record<string, string>, extra: Record<string, unknown> = {}) => {
    const res = await server.client.execute(processId, { inputs, subscriber, response: 'document', ...extra }, { Prefer: 'respond-async' });
    assert.equal(res.status, 201, res.text);
    return res.body.jobID as string;
  };
  const notificationsOf = async (jobID: string) => (await server.client.get(`/jobs/${jobID}`)).body.notifications as Record<string, { status: string; attempts: number; message?: string }>;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 600)); // three sweeps: time for a duplicate to show

  it('posts the statusInfo while the job runs and the results document once it succeeds, once each, with a stable idempotency key', async () => {
    const jobID = await submit('echo', { string_input: 'hi', pause: 1 }, { inProgressUri: `${receiver.url}/progress/1`, successUri: `${receiver.url}/success/1`, failedUri: `${receiver.url}/failed/1` });
    const success = await receiver.waitFor('/success/1');
    const progress = receiver.delivered('/progress/1');
    assert.equal(progress.length, 1);
    assertOgc('statusInfo', progress[0]!.body);
    assert.deepEqual([(progress[0]!.body as { status: string }).status, (progress[0]!.body as { jobID: string }).jobID], ['running', jobID]);
    assertOgc('results', success.body);
    assert.equal((success.body as { string_input: string }).string_input, 'hi');
    assert.equal(success.headers['idempotency-key'], `${jobID}:success`);
    assert.equal(progress[0]!.headers['idempotency-key'], `${jobID}:inProgress`);
    assert.match(success.headers['content-type']!, /^application\/json/);
    await settle();
    assert.equal(receiver.received.filter((r) => r.path.endsWith('/1')).length, 2, 'no duplicate, and nothing to failedUri');
    const status = await server.client.get(`/jobs/${jobID}`);
    assert.deepEqual(status.body.notifications, { inProgress: { status: 'sent', attempts: 1 }, success: { status: 'sent', attempts: 1 } });
    assert.ok(!status.text.includes(receiver.url), 'the status never shows the subscriber\'s URIs');
  });

  it('gives file outputs as links in the success notification', async () => {
    await submit('word-frequencies', { text: 'the cat and the hat' }, { successUri: `${receiver.url}/success/files` });
    const { body } = await receiver.waitFor('/success/files');
    const link = new URL((body as { frequencies: { href: string } }).frequencies.href);
    assert.match((await server.client.raw().get(`${link.pathname}${link.search}`)).text, /^word,count\nthe,2\n/);
  });

  it('keeps trying a receiver that is down for a while, and delivers once when it is back', async () => {
    receiver.answer = (path, earlier) => ({ status: path === '/success/down-for-a-while' && earlier < 3 ? 503 : 204 });
    const jobID = await submit('echo', { string_input: 'patience' }, { successUri: `${receiver.url}/success/down-for-a-while` });
    await receiver.waitFor('/success/down-for-a-while');
    await settle();
    assert.deepEqual(receiver.received.filter((r) => r.path === '/success/down-for-a-while').map((r) => r.status), [503, 503, 503, 204]);
    assert.deepEqual((await notificationsOf(jobID)).success, { status: 'sent', attempts: 4 });
  });

  it('gives up on a refusal at once and after max_attempts on failures, and the job status says so', async () => {
    receiver.answer = (path) => ({ status: path === '/refuse' ? 400 : path === '/down' ? 503 : 204 });
    const refused = await submit('echo', { string_input: 'a' }, { successUri: `${receiver.url}/refuse` });
    const down = await submit('echo', { string_input: 'b' }, { successUri: `${receiver.url}/down` });
    const failed = (jobID: string) => eventually(() => notificationsOf(jobID), (n) => n.success?.status === 'failed');
    assert.deepEqual((await failed(refused)).success, { status: 'failed', attempts: 1, message: `${new URL(receiver.url).host} answered 400` });
    assert.deepEqual((await failed(down)).success, { status: 'failed', attempts: 5, message: `${new URL(receiver.url).host} answered 503` });
    assert.equal(receiver.received.filter((r) => r.path === '/down').length, 5);
  });

  it('does not let a slow receiver hold up the notifications of other jobs', async () => {
    receiver.answer = (path) => ({ status: 204, delayMs: path === '/slow' ? 1500 : 0 });
    await submit('echo', { string_input: 'slow' }, { successUri: `${receiver.url}/slow` });
    await eventually(async () => receiver.received.some((r) => r.path === '/slow'), Boolean);
    await submit('echo', { string_input: 'fast' }, { successUri: `${receiver.url}/fast` });
    const fast = await receiver.waitFor('/fast');
    const slow = receiver.received.find((r) => r.path === '/slow')!;
    assert.ok(fast.at - slow.at < 1500, `the fast one arrived ${fast.at - slow.at} ms after the slow one, before the slow one was answered`);
    await receiver.waitFor('/slow');
  });
});

describe('callbacks: subscriber URIs are checked before the job exists', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ configYaml: config('timeout_seconds: 1') });
  });
  after(() => server?.stop());

  it('refuses a bad scheme, a malformed URI, link-local, metadata and private addresses, and unknown members: 400 and no job', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ successUri: 'ftp://example.org/done' }, /subscriber\.successUri is refused: only http and https URLs are reached, not ftp:/],
      [{ successUri: 'not a uri' }, /subscriber\/successUri|subscriber\.successUri/],
      [{ failedUri: 'http://169.254.169.254/latest' }, /subscriber\.failedUri is refused: 169\.254\.169\.254 is a link-local, metadata/],
      [{ inProgressUri: 'http://[fd00:ec2::254]/' }, /subscriber\.inProgressUri is refused: .*link-local, metadata/],
      [{ successUri: 'http://127.0.0.1:9/x' }, /127\.0\.0\.1 is a loopback or private address \(manager\.notifications\.allow_private_networks is off\)/],
      [{ successUri: 'http://10.1.2.3/x' }, /loopback or private address/],
      [{ successUri: 'http://user:pw@example.org/x' }, /URLs with credentials in them are not reached/],
      [{ successUrl: 'https://example.org/x' }, /successUrl/],
    ];
    for (const [subscriber, detail] of cases) {
      const res = await server.client.execute('echo', { inputs: { string_input: 'x' }, subscriber }, { Prefer: 'respond-async' });
      assert.equal(res.status, 400, `${JSON.stringify(subscriber)}: ${res.text}`);
      assert.match(res.headers['content-type']!, /^application\/problem\+json/);
      assert.match(res.body.detail, detail);
    }
    assert.equal((await server.client.get('/jobs')).body.numberMatched, 0, 'no job was created');
  });
});

describe('callbacks across a restart (SQLite store)', () => {
  it('sends a pending notification after the server restarts, and the failure of a job the stop cut off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'callbacks-restart-'));
    const receiver = await new CallbackReceiver().start();
    receiver.answer = () => ({ status: 503 });
    const yaml = config(FAST_RETRIES.replace('max_attempts: 5', 'max_attempts: 100'), 'jobs.sqlite');
    const first = await startTestServer({ configYaml: yaml, dir });
    try {
      const done = await first.client.execute('echo', { inputs: { string_input: 'kept' }, subscriber: { successUri: `${receiver.url}/success` } }, { Prefer: 'respond-async' });
      const cut = await first.client.execute('echo', { inputs: { string_input: 'cut', pause: 30 }, subscriber: { failedUri: `${receiver.url}/failed` } }, { Prefer: 'respond-async' });
      await eventually(async () => (await first.client.get(`/jobs/${done.body.jobID}`)).body.notifications?.success?.status, (s) => s === 'retrying');
      await eventually(async () => (await first.client.get(`/jobs/${cut.body.jobID}`)).body.status, (s) => s === 'running');
      await first.stop();
      receiver.answer = () => ({ status: 204 });
      const second = await startTestServer({ configYaml: yaml, dir });
      try {
        const success = await receiver.waitFor('/success');
        assert.equal((success.body as { string_input: string }).string_input, 'kept');
        const failed = await receiver.waitFor('/failed');
        assertOgc('exception', failed.body);
        assert.match((failed.body as { detail: string }).detail, /server stopped while this job was unfinished/);
        await new Promise((resolve) => setTimeout(resolve, 600));
        assert.equal(receiver.delivered('/success').length, 1);
        assert.equal(receiver.delivered('/failed').length, 1);
      } finally {
        await second.stop();
      }
    } finally {
      await receiver.stop();
    }
  });
});
