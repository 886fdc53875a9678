import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { V1Job } from '@kubernetes/client-node';
import { ANNOTATIONS, LABELS, MANAGED_BY, jobName } from '../../src/kubernetes/labels.js';
import { ClusterFixture, imageProcessesConfig } from './support.js';

const JOBS = 1000;
const T0 = Date.parse('2026-03-01T00:00:00Z');

/** A Job as the server makes them, suspended (no pods): what the list reads is the cache of Jobs. */
function seededJob(index: number): V1Job {
  const jobID = randomUUID();
  const processID = index % 2 === 0 ? 'greeter' : 'failing';
  return {
    metadata: {
      name: jobName(jobID),
      labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.jobId]: jobID, [LABELS.processId]: processID },
      annotations: { [ANNOTATIONS.created]: new Date(T0 + index * 1000).toISOString(), [ANNOTATIONS.resultsRequest]: '{"response":"raw"}' },
    },
    spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'example.test/seeded:1' }] } } },
  };
}

describe(`job list over ${JOBS} Kubernetes Jobs, served from the watch cache`, function () {
  this.timeout(300_000);
  const cluster = new ClusterFixture();
  let url = '';
  let client: Awaited<ReturnType<ClusterFixture['server']>>['client'];

  before(async () => {
    await cluster.setUp('job-list');
    const jobs = Array.from({ length: JOBS }, (_, i) => seededJob(i));
    for (let start = 0; start < jobs.length; start += 50) {
      await Promise.all(jobs.slice(start, start + 50).map((body) => cluster.batch.createNamespacedJob({ namespace: cluster.namespace, body })));
    }
    const server = await cluster.server(imageProcessesConfig());
    url = server.url;
    client = server.client;
  });
  after(() => cluster.tearDown());

  const page = async (path: string) => {
    const res = await client.get(path.startsWith(url) ? path.slice(url.length) : path);
    assert.equal(res.status, 200, res.text);
    return res.body as { jobs: Array<{ jobID: string; created: string; processID: string }>; links: Array<{ rel: string; href: string }>; numberMatched: number };
  };

  it('finds every Job at start-up and pages through all of them, newest first, without gaps or repeats', async () => {
    let body = await page('/jobs?limit=100');
    assert.equal(body.numberMatched, JOBS);
    const seen: string[] = [];
    const created: number[] = [];
    for (let i = 0; i < 20; i++) {
      seen.push(...body.jobs.map((j) => j.jobID));
      created.push(...body.jobs.map((j) => Date.parse(j.created)));
      const next = body.links.find((l) => l.rel === 'next');
      if (!next) break;
      body = await page(next.href);
    }
    assert.equal(seen.length, JOBS);
    assert.equal(new Set(seen).size, JOBS);
    assert.deepEqual(created, [...created].sort((a, b) => b - a));
    const back = await page(body.links.find((l) => l.rel === 'prev')!.href);
    assert.equal(back.jobs.length, 100);
  });

  it('filters by process, status and creation time', async () => {
    const greeter = await page('/jobs?processID=greeter&limit=1');
    assert.equal(greeter.numberMatched, JOBS / 2);
    assert.equal((await page('/jobs?status=accepted&limit=1')).numberMatched, JOBS);
    assert.equal((await page('/jobs?status=successful,failed&limit=1')).numberMatched, 0);
    const from = new Date(T0 + 100 * 1000).toISOString();
    const to = new Date(T0 + 199 * 1000).toISOString();
    const window = await page(`/jobs?datetime=${from}/${to}&limit=1000`);
    assert.equal(window.numberMatched, 100);
    assert.ok(window.jobs.every((j) => Date.parse(j.created) >= Date.parse(from) && Date.parse(j.created) <= Date.parse(to)));
  });
});
