import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync as Database, SQLInputValue, StatementSync } from 'node:sqlite';
import type { JobQuery, JobRecord, JobSlice, JobStatus } from './job.js';
import type { JobStore } from './store.js';

interface Row {
  job_id: string;
  process_id: string;
  status: JobStatus;
  message: string | null;
  created: number;
  started: number | null;
  finished: number | null;
  updated: number;
  progress: number | null;
  response: 'raw' | 'document';
  outputs: string | null;
  results: string | null;
  files: string | null;
  subscriber: string | null;
  notifications: string | null;
  origin: string | null;
}

const columns = ['job_id', 'process_id', 'status', 'message', 'created', 'started', 'finished', 'updated', 'progress', 'response', 'outputs', 'results', 'files', 'subscriber', 'notifications', 'origin'] as const;
/** Columns added after the first release: a store made before them gets them at start-up. */
const addedColumns = ['files', 'subscriber', 'notifications', 'origin'] as const;

/** Node's own SQLite (decision 0019), loaded on first use so that an older Node is told what it lacks. */
function sqlite(): { DatabaseSync: typeof Database } {
  const module = process.getBuiltinModule('node:sqlite') as { DatabaseSync: typeof Database } | undefined;
  if (!module) throw new Error(`The embedded job store needs node:sqlite, which Node ${process.version} lacks: run it on Node 26 (npm ci installs it for npm start and npm test) or 22.13 or newer.`);
  return module;
}

/** The embedded job store: one SQLite file, so local job records survive a restart. */
export function openSqliteJobStore(path: string): JobStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new (sqlite().DatabaseSync)(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS jobs (
      job_id TEXT PRIMARY KEY, process_id TEXT NOT NULL, status TEXT NOT NULL, message TEXT,
      created INTEGER NOT NULL, started INTEGER, finished INTEGER, updated INTEGER NOT NULL,
      progress INTEGER, response TEXT NOT NULL, outputs TEXT, results TEXT
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS jobs_newest_first ON jobs (created DESC, job_id DESC);
  `);
  const existing = new Set((db.prepare('PRAGMA table_info(jobs)').all() as Array<{ name: string }>).map((column) => column.name));
  for (const column of addedColumns.filter((name) => !existing.has(name))) db.exec(`ALTER TABLE jobs ADD COLUMN ${column} TEXT`);
  // Callbacks and replies alike keep their state in `notifications` (the index of older stores keyed on the subscriber).
  db.exec('DROP INDEX IF EXISTS jobs_with_subscribers');
  db.exec('CREATE INDEX IF NOT EXISTS jobs_with_notifications ON jobs (finished) WHERE notifications IS NOT NULL');
  const insert = db.prepare(`INSERT INTO jobs (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
  const select = db.prepare('SELECT * FROM jobs WHERE job_id = ?');
  const remove = db.prepare('DELETE FROM jobs WHERE job_id = ?');
  const withNotifications = db.prepare('SELECT * FROM jobs WHERE notifications IS NOT NULL AND (finished IS NULL OR finished >= ?)');
  const failUnfinished = db.prepare(
    "UPDATE jobs SET status = 'failed', message = ?, finished = ?, updated = ? WHERE status IN ('accepted', 'running')",
  );
  const statements = new Map<string, StatementSync>();
  const prepared = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size > 500) statements.clear(); // filters vary the SQL; keep the cache bounded
      statements.set(sql, (statement = db.prepare(sql)));
    }
    return statement;
  };

  return {
    insert: (job) => void insert.run({ ...toRow(job) }),
    update(jobID, changes, { unlessFinished = false } = {}) {
      const row = toRow({ jobID, ...changes } as JobRecord);
      const set = columns.filter((c) => c !== 'job_id' && keyOf(c) in changes);
      if (set.length === 0) return this.get(jobID);
      const updated = prepared(`UPDATE jobs SET ${set.map((c) => `${c} = @${c}`).join(', ')} WHERE job_id = @job_id${unlessFinished ? " AND status IN ('accepted', 'running')" : ''} RETURNING *`)
        .get(Object.fromEntries(['job_id', ...set].map((c) => [c, row[c as keyof Row]]))) as unknown as Row | undefined;
      return updated && fromRow(updated);
    },
    get(jobID) {
      const row = select.get(jobID) as Row | undefined;
      return row && fromRow(row);
    },
    delete: (jobID) => Number(remove.run(jobID).changes) > 0,
    list: (query) => list(prepared, query),
    withNotifications: (finishedSince) => (withNotifications.all(finishedSince) as unknown as Row[]).map(fromRow),
    failUnfinished: (message, now) => Number(failUnfinished.run(message, now, now).changes),
    close: () => db.close(),
  };
}

function list(prepared: (sql: string) => StatementSync, query: JobQuery): JobSlice {
  const where: string[] = [];
  const params: Record<string, SQLInputValue> = {};
  const inList = (column: string, name: string, values: string[]) => {
    where.push(`${column} IN (${values.map((_, i) => `@${name}${i}`).join(', ')})`);
    values.forEach((value, i) => (params[`${name}${i}`] = value));
  };
  if (query.processIDs) inList('process_id', 'process', query.processIDs);
  if (query.statuses) inList('status', 'status', query.statuses);
  if (query.createdFrom !== undefined) (where.push('created >= @createdFrom'), (params.createdFrom = query.createdFrom));
  if (query.createdTo !== undefined) (where.push('created <= @createdTo'), (params.createdTo = query.createdTo));
  const duration = '(COALESCE(finished, @now) - started) / 1000.0';
  if (query.minDuration !== undefined || query.maxDuration !== undefined) (where.push('started IS NOT NULL'), (params.now = query.now));
  if (query.minDuration !== undefined) (where.push(`${duration} >= @minDuration`), (params.minDuration = query.minDuration));
  if (query.maxDuration !== undefined) (where.push(`${duration} <= @maxDuration`), (params.maxDuration = query.maxDuration));
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const { numberMatched } = prepared(`SELECT COUNT(*) AS numberMatched FROM jobs ${filter}`).get(params) as unknown as { numberMatched: number };

  const page = [...where];
  let order = 'created DESC, job_id DESC';
  if (query.cursor) {
    Object.assign(params, { cursorCreated: query.cursor.created, cursorJob: query.cursor.jobID });
    if (query.cursor.direction === 'next') {
      page.push('(created < @cursorCreated OR (created = @cursorCreated AND job_id < @cursorJob))');
    } else {
      page.push('(created > @cursorCreated OR (created = @cursorCreated AND job_id > @cursorJob))');
      order = 'created ASC, job_id ASC';
    }
  }
  const rows = prepared(`SELECT * FROM jobs ${page.length > 0 ? `WHERE ${page.join(' AND ')}` : ''} ORDER BY ${order} LIMIT @limit`).all({ ...params, limit: query.limit + 1 }) as unknown as Row[];
  if (query.cursor?.direction === 'prev') rows.reverse();
  return { jobs: rows.map(fromRow), numberMatched };
}

function keyOf(column: (typeof columns)[number]): keyof JobRecord {
  const keys: Record<(typeof columns)[number], keyof JobRecord> = {
    job_id: 'jobID', process_id: 'processID', status: 'status', message: 'message', created: 'created',
    started: 'started', finished: 'finished', updated: 'updated', progress: 'progress', response: 'response',
    outputs: 'outputs', results: 'results', files: 'files', subscriber: 'subscriber', notifications: 'notifications', origin: 'origin',
  };
  return keys[column];
}

function toRow(job: JobRecord): Row {
  return {
    job_id: job.jobID,
    process_id: job.processID,
    status: job.status,
    message: job.message ?? null,
    created: job.created,
    started: job.started ?? null,
    finished: job.finished ?? null,
    updated: job.updated,
    progress: job.progress ?? null,
    response: job.response,
    outputs: json(job.outputs),
    results: json(job.results),
    files: json(job.files),
    subscriber: json(job.subscriber),
    notifications: json(job.notifications),
    origin: json(job.origin),
  };
}

function fromRow(row: Row): JobRecord {
  const job: JobRecord = {
    jobID: row.job_id,
    processID: row.process_id,
    status: row.status,
    created: row.created,
    updated: row.updated,
    response: row.response,
  };
  if (row.message !== null) job.message = row.message;
  if (row.started !== null) job.started = row.started;
  if (row.finished !== null) job.finished = row.finished;
  if (row.progress !== null) job.progress = row.progress;
  if (row.outputs !== null) job.outputs = JSON.parse(row.outputs) as JobRecord['outputs'];
  if (row.results !== null) job.results = JSON.parse(row.results) as JobRecord['results'];
  if (row.files !== null) job.files = JSON.parse(row.files) as JobRecord['files'];
  if (row.subscriber !== null) job.subscriber = JSON.parse(row.subscriber) as JobRecord['subscriber'];
  if (row.notifications !== null) job.notifications = JSON.parse(row.notifications) as JobRecord['notifications'];
  if (row.origin !== null) job.origin = JSON.parse(row.origin) as JobRecord['origin'];
  return job;
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}
