import assert from 'node:assert/strict';
import type { JobRecord, JobStatus } from '../../src/jobs/job.js';
import { openSqliteJobStore } from '../../src/jobs/sqlite-store.js';
import { startTestServer, type TestServer } from '../support/server.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const MINUTE = 60_000;

/**
 * 30 jobs with known times: job i was created i minutes after T0; jobs that started ran i seconds.
 * Statuses and processes cycle, so every filter has something to find and something to leave out.
 */
function seededJobs(): JobRecord[] {
  const statuses: JobStatus[] = ['accepted', 'running', 'successful', 'failed', 'dismissed'];
  return Array.from({ length: 30 }, (_, i) => {
    const status = statuses[i % 5]!;
    const created = T0 + i * MINUTE;
    const job: JobRecord = { jobID: `job-${String(i).padStart(2, '0')}`, processID: i % 3 === 0 ? 'hello-world' : 'echo', status, created, updated: created, response: 'raw' };
    if (status !== 'accepted') job.started = created + 1000;
    if (['successful', 'failed', 'dismissed'].includes(status)) job.finished = created + 1000 + i * 1000;
    return job;
  });
}

describe('job list: GET /jobs filters and paging', () => {
  let server: TestServer;
  const jobs = seededJobs();
  before(async () => {
    const store = openSqliteJobStore(':memory:');
    // The store fails unfinished jobs at start-up (as after a crash), so seed after the server starts.
    server = await startTestServer({ localStore: store });
    for (const job of jobs) store.insert(job);
  });
  after(() => server.stop());

  const list = async (query: string) => {
    const res = await server.client.get(`/jobs${query}`);
    assert.equal(res.status, 200, res.text);
    return res.body as { jobs: Array<{ jobID: string; status: string; processID: string }>; links: Array<{ rel: string; href: string }>; numberMatched: number; numberReturned: number };
  };
  const ids = (body: { jobs: Array<{ jobID: string }> }) => body.jobs.map((j) => j.jobID);
  const expected = (keep: (job: JobRecord) => boolean) => jobs.filter(keep).sort((a, b) => b.created - a.created).map((j) => j.jobID);
  const follow = (body: { links: Array<{ rel: string; href: string }> }, rel: string) => {
    const link = body.links.find((l) => l.rel === rel);
    return link && list(link.href.slice(link.href.indexOf('/jobs') + 5));
  };

  it('lists newest first, 10 by default, with numberMatched and numberReturned', async () => {
    const body = await list('');
    assert.deepEqual(ids(body), expected(() => true).slice(0, 10));
    assert.equal(body.numberMatched, 30);
    assert.equal(body.numberReturned, 10);
  });

  it('pages forward with next links and back with prev links, without gaps or repeats', async () => {
    const seen: string[] = [];
    let page = await list('?limit=7');
    const pages = [page];
    for (let i = 0; i < 10; i++) {
      seen.push(...ids(page));
      const next = await follow(page, 'next');
      if (!next) break;
      pages.push((page = next));
    }
    assert.deepEqual(seen, expected(() => true));
    assert.equal(pages.length, 5);
    assert.equal(pages[0]!.links.find((l) => l.rel === 'prev'), undefined);
    const back = await follow(pages[4]!, 'prev');
    assert.deepEqual(ids(back!), ids(pages[3]!));
    const backAgain = await follow(back!, 'prev');
    assert.deepEqual(ids(backAgain!), ids(pages[2]!));
  });

  it('keeps the filters in the paging links', async () => {
    const first = await list('?status=successful,failed&limit=3');
    const next = first.links.find((l) => l.rel === 'next')!;
    assert.match(decodeURIComponent(next.href), /status=successful,failed/);
    const second = await follow(first, 'next');
    assert.deepEqual([...ids(first), ...ids(second!)], expected((j) => ['successful', 'failed'].includes(j.status)).slice(0, 6));
  });

  const ran = (j: JobRecord) => (j.started === undefined ? undefined : ((j.finished ?? Date.now()) - j.started) / 1000);
  const filters: Array<[string, (job: JobRecord) => boolean]> = [
    ['processID=hello-world', (j) => j.processID === 'hello-world'],
    ['processID=hello-world,echo', () => true],
    ['processID=hello-world&processID=nothing', (j) => j.processID === 'hello-world'],
    ['status=running', (j) => j.status === 'running'],
    ['status=accepted&status=dismissed', (j) => ['accepted', 'dismissed'].includes(j.status)],
    ['type=process', () => true],
    [`datetime=${new Date(T0 + 5 * MINUTE).toISOString()}`, (j) => j.created === T0 + 5 * MINUTE],
    [`datetime=${new Date(T0 + 5 * MINUTE).toISOString()}/${new Date(T0 + 9 * MINUTE).toISOString()}`, (j) => j.created >= T0 + 5 * MINUTE && j.created <= T0 + 9 * MINUTE],
    [`datetime=../${new Date(T0 + 3 * MINUTE).toISOString()}`, (j) => j.created <= T0 + 3 * MINUTE],
    [`datetime=${new Date(T0 + 27 * MINUTE).toISOString()}/..`, (j) => j.created >= T0 + 27 * MINUTE],
    ['minDuration=20', (j) => (ran(j) ?? -1) >= 20],
    ['maxDuration=5', (j) => ran(j) !== undefined && ran(j)! <= 5],
    ['minDuration=10&maxDuration=20&processID=echo', (j) => j.processID === 'echo' && (ran(j) ?? -1) >= 10 && ran(j)! <= 20],
  ];
  for (const [query, keep] of filters) {
    it(`filters by ${query}`, async () => {
      const body = await list(`?${query}&limit=100`);
      assert.deepEqual(ids(body), expected(keep));
      assert.equal(body.numberMatched, expected(keep).length);
    });
  }

  it('counts a running job by how long it has run so far', async () => {
    const body = await list('?status=running&minDuration=1&limit=100');
    assert.deepEqual(ids(body), expected((j) => j.status === 'running'));
  });

  for (const query of ['status=done', 'type=workflow', 'limit=0', 'limit=10001', 'limit=ten', 'limit=1e3', 'limit=0x10', 'limit=5.0', 'limit=%205', 'minDuration=-1', 'maxDuration=1.5', 'minDuration=5&maxDuration=2', 'datetime=yesterday', 'datetime=2026-01-02T00:00:00Z/2026-01-01T00:00:00Z', 'datetime=a/b/c', 'datetime=', 'datetime=2026-13-01T00:00:00Z', 'cursor=nonsense', 'cursor=', 'status=', 'status=running,', 'type=', 'processID=', 'processID=echo,,hello-world', 'sort=created']) {
    it(`rejects ${query} with 400 naming the parameter`, async () => {
      const res = await server.client.get(`/jobs?${query}`);
      assert.equal(res.status, 400);
      const detail = JSON.parse(res.text).detail as string;
      const name = query.split('=')[0]!;
      assert.match(detail, new RegExp(name), detail);
    });
  }
});
