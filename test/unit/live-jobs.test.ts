import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Response } from 'express';
import { TooManyViewers } from '../../src/errors.js';
import { Representations } from '../../src/http/representations.js';
import type { JobRecord } from '../../src/jobs/job.js';
import type { JobManager } from '../../src/jobs/manager.js';
import { LiveJobs } from '../../src/pages/live-jobs.js';
import { LiveLogs, type LogEvent } from '../../src/pages/live-logs.js';

/** A response that records what is written to it, and how much of it the client has not read yet. */
class RecordingResponse extends EventEmitter {
  written = '';
  ended = false;
  writableLength = 0;
  destroyed = false;
  status() {
    return this;
  }
  set() {
    return this;
  }
  flushHeaders() {}
  write(text: string) {
    this.written += text;
    return true;
  }
  end() {
    this.ended = true;
    this.emit('close');
  }
}

/** Pages that follow no log. */
const noLogs = new LiveLogs({ logs: async () => Promise.reject(new Error('no logs')), getJob: async () => Promise.reject(new Error('no job')), onJobChange: () => undefined }, { tailChars: 100, retryMs: 1, maxRetryMs: 1 });

describe('LiveJobs: job changes fanned out to the viewers', () => {
  let publish: (job: JobRecord) => void;
  const jobs = { onJobChange: (listener: (job: JobRecord) => void) => (publish = listener) } as unknown as JobManager;
  const job = (jobID: string): JobRecord => ({ jobID, processID: 'echo', status: 'running', created: 0, updated: 0, response: 'raw' });
  const open = (live: LiveJobs, jobID?: string) => {
    const res = new RecordingResponse();
    live.open(res as unknown as Response, jobID);
    return res;
  };

  it('sends each change to every viewer, and a job\'s changes only to the viewers of that job', () => {
    const live = new LiveJobs(jobs, new Representations('http://x'), noLogs, { maxViewers: 10, keepAliveMs: 60_000, maxBufferedBytes: 1000 });
    const all = open(live);
    const one = open(live, 'b');
    publish(job('a'));
    publish(job('b'));
    assert.equal(all.written.match(/event: job/g)?.length, 2);
    assert.equal(one.written.match(/event: job/g)?.length, 1);
    assert.match(one.written, /"jobID":"b"/);
    live.close();
    assert.ok(all.ended && one.ended, 'the streams end when the server stops');
  });

  it('refuses viewers beyond the bound, and forgets those that leave', () => {
    const live = new LiveJobs(jobs, new Representations('http://x'), noLogs, { maxViewers: 1, keepAliveMs: 60_000, maxBufferedBytes: 1000 });
    const first = open(live);
    assert.throws(() => open(live), TooManyViewers);
    first.emit('close');
    assert.equal(live.viewerCount, 0);
    open(live);
    live.close();
  });

  it('adds no viewer for a client that left before its stream opened (it closed while its job was looked up)', () => {
    let follows = 0;
    const logs = new LiveLogs({ logs: async () => { follows++; return Promise.reject(new Error('no logs')); }, getJob: async () => Promise.reject(new Error('no job')), onJobChange: () => undefined }, { tailChars: 100, retryMs: 1, maxRetryMs: 1 });
    const live = new LiveJobs(jobs, new Representations('http://x'), logs, { maxViewers: 10, keepAliveMs: 60_000, maxBufferedBytes: 1000 });
    const gone = new RecordingResponse();
    gone.destroyed = true; // its 'close' was emitted before the route called open
    live.open(gone as unknown as Response, 'a', true);
    assert.equal(live.viewerCount, 0);
    assert.equal(logs.followed, 0);
    assert.equal(follows, 0);
    live.close();
  });

  it('cuts off a viewer that does not read what it is sent', () => {
    const live = new LiveJobs(jobs, new Representations('http://x'), noLogs, { maxViewers: 10, keepAliveMs: 60_000, maxBufferedBytes: 1000 });
    const slow = open(live);
    slow.writableLength = 5000;
    publish(job('a'));
    assert.ok(slow.ended);
    assert.equal(live.viewerCount, 0);
    live.close();
  });
});

describe('LiveLogs: one follow of a job\'s log for every page that shows it', () => {
  /** A job whose log the test writes to; each follow asked for is counted, and ends when the test says. */
  function runningJob() {
    const follows: PassThrough[] = [];
    let status: JobRecord['status'] = 'running';
    let started = true;
    let changed: (job: JobRecord) => void = () => undefined;
    const jobs = {
      onJobChange: (listener: (job: JobRecord) => void) => (changed = listener),
      logs: async (_jobID: string, { signal }: { signal?: AbortSignal }) => {
        if (!started) throw new Error('the pod has not started');
        const stream = new PassThrough();
        signal?.addEventListener('abort', () => stream.destroy());
        follows.push(stream);
        return stream;
      },
      getJob: async (jobID: string) => ({ jobID, processID: 'p', status, created: 0, updated: 0, response: 'raw' }) as JobRecord,
    } as unknown as JobManager;
    return {
      jobs,
      follows,
      finish: () => (status = 'successful'),
      notStarted: () => (started = false),
      start: (jobID: string) => {
        started = true;
        changed({ jobID, processID: 'p', status, created: 0, updated: 0, response: 'raw' });
      },
    };
  }
  const collector = () => {
    const events: LogEvent[] = [];
    return { events, viewer: (event: LogEvent) => events.push(event), text: () => events.map((e) => (e.kind === 'log' ? e.text : `<${e.kind}>`)).join('') };
  };
  const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

  it('follows once for many viewers; a late viewer gets the tail first; the last one to leave stops the follow', async () => {
    const job = runningJob();
    const logs = new LiveLogs(job.jobs, { tailChars: 8, retryMs: 1, maxRetryMs: 1 });
    const first = collector();
    const leaveFirst = logs.attach('j', first.viewer);
    await tick();
    job.follows[0]!.write('line one\nline two\n');
    await tick();
    const late = collector();
    const leaveLate = logs.attach('j', late.viewer);
    job.follows[0]!.write('three\n');
    await tick();
    assert.equal(job.follows.length, 1, 'one follow of the log');
    assert.equal(first.text(), 'line one\nline two\nthree\n');
    assert.equal(late.text(), 'ine two\nthree\n', 'the tail (8 characters), then what follows');
    leaveFirst();
    assert.equal(logs.followed, 1);
    leaveLate();
    assert.equal(logs.followed, 0);
    assert.ok(job.follows[0]!.destroyed, 'the follow is stopped');
  });

  it('starts over (reset) when the follow ends while the job runs, and ends when the job has finished', async () => {
    const job = runningJob();
    const logs = new LiveLogs(job.jobs, { tailChars: 100, retryMs: 1, maxRetryMs: 1 });
    const page = collector();
    logs.attach('j', page.viewer);
    await tick();
    job.follows[0]!.end('first container\n');
    await tick();
    await tick();
    assert.equal(job.follows.length, 2, 'followed again: the job still runs');
    job.finish();
    job.follows[1]!.end('first container\nsecond\n');
    await tick();
    await tick();
    assert.equal(page.text(), 'first container\n<reset>first container\nsecond\n<end>');
    assert.equal(logs.followed, 0);
  });

  it('follows at once when the job changes, not at the end of its pause', async () => {
    const job = runningJob();
    job.notStarted();
    const logs = new LiveLogs(job.jobs, { tailChars: 100, retryMs: 60_000, maxRetryMs: 60_000 });
    const page = collector();
    const leave = logs.attach('j', page.viewer);
    await tick();
    assert.equal(job.follows.length, 0, 'not started: waiting a minute before trying again');
    job.start('j');
    await tick();
    assert.equal(job.follows.length, 1, 'followed as soon as the job changed');
    leave();
  });
});
