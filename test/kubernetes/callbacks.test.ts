import assert from 'node:assert/strict';
import { notificationAnnotation } from '../../src/kubernetes/labels.js';
import { assertOgc } from '../support/ogc-schemas.js';
import { CallbackReceiver } from '../support/receiver.js';
import { eventually, type TestServer } from '../support/server.js';
import { API_TOKEN, ClusterFixture, imageProcessesConfig } from './support.js';

describe('callbacks of Kubernetes jobs: each notification sent once across replicas, and after a restart', function () {
  this.timeout(90_000);
  const cluster = new ClusterFixture();
  let receiver: CallbackReceiver;
  const config = imageProcessesConfig().replace(
    'manager:\n',
    'manager:\n  notifications: {allow_private_networks: true, timeout_seconds: 2, initial_backoff_seconds: 0.1, max_backoff_seconds: 0.5, max_attempts: 100, sweep_seconds: 0.5}\n',
  );

  before(async () => {
    await cluster.setUp('callbacks');
    receiver = await new CallbackReceiver().start();
  });
  after(async () => {
    await receiver?.stop();
    await cluster.tearDown();
  });

  const submit = async (server: TestServer, processId: string, subscriber: Record<string, string>) => {
    const res = await server.client.execute(processId, { inputs: { token: API_TOKEN, name: 'Ada' }, subscriber, response: 'document' }, { Prefer: 'respond-async' });
    assert.equal(res.status, 201, res.text);
    return res.body.jobID as string;
  };
  const notificationState = async (jobID: string, kind: string) => JSON.parse((await cluster.jobOf(jobID))!.metadata!.annotations![notificationAnnotation(kind as 'success')]!) as { state: string; attempts: number };

  it('two replicas watching the same jobs send each notification once, with the standard\'s documents and no token', async () => {
    const replicas = [await cluster.server(config), await cluster.server(config)];
    const jobs: string[] = [];
    for (let i = 0; i < 8; i++) jobs.push(await submit(replicas[i % 2]!, 'greeter', { successUri: `${receiver.url}/success/${i}`, failedUri: `${receiver.url}/failed/${i}` }));
    const failing = await submit(replicas[0]!, 'failing', { successUri: `${receiver.url}/success/f`, failedUri: `${receiver.url}/failed/f` });
    for (let i = 0; i < 8; i++) {
      const { body, headers } = await receiver.waitFor(`/success/${i}`, 30_000);
      assertOgc('results', body);
      assert.deepEqual(body, { greeting: 'hello from the pod' });
      assert.equal(headers['idempotency-key'], `${jobs[i]}:success`);
    }
    const failed = await receiver.waitFor('/failed/f', 30_000);
    assertOgc('exception', failed.body);
    assert.match((failed.body as { detail: string }).detail, /boom: the input was wrong/);
    const instance = (failed.body as { instance: string }).instance;
    assert.ok(replicas.some((replica) => instance === `${replica.url}/jobs/${failing}`), `${instance}: the job, at the URL of the replica that sent it`);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // sweeps of both replicas: time for a duplicate to show
    const byPath = new Map<string, number>();
    for (const { path } of receiver.received) byPath.set(path, (byPath.get(path) ?? 0) + 1);
    assert.deepEqual([...byPath].filter(([, count]) => count !== 1), [], 'every notification arrived exactly once');
    assert.equal(receiver.received.filter((r) => r.path.startsWith('/failed/') && r.path !== '/failed/f').length, 0);
    assert.ok(!JSON.stringify(receiver.received).includes(API_TOKEN), 'the token is never sent');
    const state = await notificationState(jobs[0]!, 'success');
    assert.deepEqual([state.state, state.attempts], ['sent', 1], 'the state is kept on the Job');
    const status = await replicas[1]!.client.get(`/jobs/${jobs[0]}`);
    assert.deepEqual(status.body.notifications, { success: { status: 'sent', attempts: 1 } });
    for (const replica of replicas) await cluster.stopServer(replica);
  });

  it('posts the statusInfo of a running job to inProgressUri', async () => {
    const server = await cluster.server(config);
    const jobID = await submit(server, 'slow', { inProgressUri: `${receiver.url}/progress/slow` });
    const { body } = await receiver.waitFor('/progress/slow', 30_000);
    assertOgc('statusInfo', body);
    assert.deepEqual([(body as { jobID: string }).jobID, (body as { status: string }).status], [jobID, 'running']);
    await server.client.delete(`/jobs/${jobID}`);
    await cluster.stopServer(server);
  });

  it('a server restarted while a receiver is down sends the pending notification once it is back', async () => {
    receiver.answer = (path) => ({ status: path === '/success/restart' ? 503 : 204 });
    const first = await cluster.server(config);
    const jobID = await submit(first, 'greeter', { successUri: `${receiver.url}/success/restart` });
    await eventually(async () => (await first.client.get(`/jobs/${jobID}`)).body.notifications?.success?.status, (status) => status === 'retrying', 30_000);
    await cluster.stopServer(first);
    receiver.answer = () => ({ status: 204 });
    const second = await cluster.server(config);
    await receiver.waitFor('/success/restart', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(receiver.delivered('/success/restart').length, 1);
    assert.equal((await notificationState(jobID, 'success')).state, 'sent');
    await cluster.stopServer(second);
  });
});
