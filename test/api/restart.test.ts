import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TEST_CONFIG, eventually, startTestServer } from '../support/server.js';

describe('restart: local job records live in the embedded SQLite store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ogcapi-restart-'));
  const configYaml = DEFAULT_TEST_CONFIG.replace("path: ':memory:'", 'path: jobs.sqlite');

  it('finds every job again after a restart; a job cut off by the stop is failed with a clear message', async () => {
    const first = await startTestServer({ configYaml, dir });
    const done = await first.client.execute('echo', { inputs: { string_input: 'kept' }, response: 'document' }, { Prefer: 'respond-async' });
    await eventually(async () => (await first.client.get(`/jobs/${done.body.jobID}`)).body.status, (s) => s === 'successful');
    const cut = await first.client.execute('echo', { inputs: { pause: 60 } }, { Prefer: 'respond-async' });
    await eventually(async () => (await first.client.get(`/jobs/${cut.body.jobID}`)).body.status, (s) => s === 'running');
    await first.stop();

    const second = await startTestServer({ configYaml, dir });
    try {
      const list = await second.client.get('/jobs');
      assert.deepEqual(list.body.jobs.map((j: { jobID: string }) => j.jobID).sort(), [done.body.jobID, cut.body.jobID].sort());
      const results = await second.client.get(`/jobs/${done.body.jobID}/results`);
      assert.deepEqual(results.body, { string_input: 'kept' });
      const interrupted = await second.client.get(`/jobs/${cut.body.jobID}`);
      assert.equal(interrupted.body.status, 'failed');
      assert.match(interrupted.body.message, /server stopped while this job was unfinished/);
      assert.ok(interrupted.body.finished);
    } finally {
      await second.stop();
    }
  });
});
