import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync as Database } from 'node:sqlite';
import { JOB_STATUSES, type Cursor, type JobQuery, type JobRecord } from '../../src/jobs/job.js';
import { createMemoryJobStore } from '../../src/jobs/memory-store.js';
import { openSqliteJobStore } from '../../src/jobs/sqlite-store.js';

/** A small deterministic random source, so a failure can be replayed. */
function random(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe('job stores: SQLite and in-memory answer every query alike', () => {
  const next = random(42);
  const jobs: JobRecord[] = Array.from({ length: 300 }, (_, i) => {
    const created = 1_700_000_000_000 + Math.floor(next() * 50) * 1000; // many equal times: ties break by id
    const status = JOB_STATUSES[Math.floor(next() * 5)]!;
    const job: JobRecord = { jobID: `j${i.toString(36)}`, processID: next() < 0.5 ? 'echo' : 'hello-world', status, created, updated: created, response: 'raw' };
    if (status !== 'accepted') job.started = created + 500;
    if (['successful', 'failed', 'dismissed'].includes(status)) job.finished = created + 500 + Math.floor(next() * 100_000);
    return job;
  });
  const sqlite = openSqliteJobStore(':memory:');
  const memory = createMemoryJobStore();
  for (const job of jobs) (sqlite.insert(job), memory.insert(job));
  after(() => sqlite.close());

  const now = 1_700_000_200_000;
  const queries: Array<Omit<JobQuery, 'now'>> = [
    { limit: 10 },
    { limit: 1000 },
    { limit: 7, statuses: ['running', 'failed'] },
    { limit: 50, processIDs: ['echo'], createdFrom: 1_700_000_010_000, createdTo: 1_700_000_020_000 },
    { limit: 50, minDuration: 30, maxDuration: 80 },
    { limit: 50, minDuration: 100 },
  ];

  for (const query of queries) {
    it(`pages ${JSON.stringify(query)} the same way, forwards and backwards`, () => {
      let cursor: Cursor | undefined;
      for (let page = 0; page < 100; page++) {
        const q = { ...query, now, ...(cursor ? { cursor } : {}) };
        const a = sqlite.list(q);
        const b = memory.list(q);
        assert.deepEqual(a.jobs.map((j) => j.jobID), b.jobs.map((j) => j.jobID));
        assert.equal(a.numberMatched, b.numberMatched);
        const last = a.jobs[Math.min(query.limit, a.jobs.length) - 1];
        if (a.jobs.length <= query.limit || !last) break;
        cursor = { created: last.created, jobID: last.jobID, direction: 'next' };
        const back = { ...q, cursor: { created: last.created, jobID: last.jobID, direction: 'prev' as const } };
        assert.deepEqual(sqlite.list(back).jobs.map((j) => j.jobID), memory.list(back).jobs.map((j) => j.jobID));
      }
    });
  }

  it('still agree after status updates in place and jobs that move in the list', () => {
    for (const [i, job] of jobs.entries()) {
      const changes = i % 7 === 0 ? { created: job.created + 30_000, status: 'running' as const } : { status: 'dismissed' as const, message: `update ${i}` };
      sqlite.update(job.jobID, changes);
      memory.update(job.jobID, changes);
    }
    const everything = { limit: 1000, now };
    assert.deepEqual(memory.list(everything), sqlite.list(everything));
    assert.equal(memory.list({ ...everything, statuses: ['running'] }).numberMatched, Math.ceil(jobs.length / 7));
  });

  it('round-trips every field of a job', () => {
    const job: JobRecord = { jobID: 'full', processID: 'echo', status: 'successful', message: 'm', created: 1, started: 2, finished: 3, updated: 4, progress: 100, response: 'document', outputs: { a: { transmissionMode: 'value' } }, results: { a: [1, { b: null }] }, files: { f: { mediaType: 'text/csv', size: 12 } },
      origin: { kind: 'amqp', queue: 'requests', messageId: 'm-1', replyTo: 'answers', correlationId: 'c-1' }, notifications: { reply: { state: 'pending', attempts: 0 } } };
    sqlite.insert(job);
    assert.deepEqual(sqlite.get('full'), job);
    assert.deepEqual(sqlite.update('full', { message: 'n', progress: 50 }), { ...job, message: 'n', progress: 50 });
    assert.equal(sqlite.delete('full'), true);
    assert.equal(sqlite.get('full'), undefined);
  });

  it('opens a store written before file outputs existed, and keeps its jobs', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'old-store-')), 'jobs.sqlite');
    const old = new Database(file);
    old.exec(`CREATE TABLE jobs (job_id TEXT PRIMARY KEY, process_id TEXT NOT NULL, status TEXT NOT NULL, message TEXT, created INTEGER NOT NULL,
      started INTEGER, finished INTEGER, updated INTEGER NOT NULL, progress INTEGER, response TEXT NOT NULL, outputs TEXT, results TEXT) WITHOUT ROWID`);
    old.prepare("INSERT INTO jobs (job_id, process_id, status, created, updated, response) VALUES ('old', 'echo', 'successful', 1, 2, 'raw')").run();
    old.close();
    const store = openSqliteJobStore(file);
    try {
      assert.deepEqual(store.get('old'), { jobID: 'old', processID: 'echo', status: 'successful', created: 1, updated: 2, response: 'raw' });
      store.update('old', { files: { f: { mediaType: 'text/plain', size: 1 } } });
      assert.deepEqual(store.get('old')?.files, { f: { mediaType: 'text/plain', size: 1 } });
    } finally {
      store.close();
    }
  });
});
