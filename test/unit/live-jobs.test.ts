import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import { TooManyViewers } from '../../src/errors.js';
import { Representations } from '../../src/http/representations.js';
import type { JobRecord } from '../../src/jobs/job.js';
import type { JobManager } from '../../src/jobs/manager.js';
import { LiveJobs } from '../../src/pages/live-jobs.js';

/** A response that records what is written to it, and how much of it the client has not read yet. */
class RecordingResponse extends EventEmitter {
  written = '';
  ended = false;
  writableLength = 0;
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
    const live = new LiveJobs(jobs, new Representations('http://x'), { maxViewers: 10, keepAliveMs: 60_000, maxBufferedBytes: 1000 });
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
    const live = new LiveJobs(jobs, new Representations('http://x'), { maxViewers: 1, keepAliveMs: 60_000, maxBufferedBytes: 1000 });
    const first = open(live);
    assert.throws(() => open(live), TooManyViewers);
    first.emit('close');
    assert.equal(live.viewerCount, 0);
    open(live);
    live.close();
  });

  it('cuts off a viewer that does not read what it is sent', () => {
    const live = new LiveJobs(jobs, new Representations('http://x'), { maxViewers: 10, keepAliveMs: 60_000, maxBufferedBytes: 1000 });
    const slow = open(live);
    slow.writableLength = 5000;
    publish(job('a'));
    assert.ok(slow.ended);
    assert.equal(live.viewerCount, 0);
    live.close();
  });
});
