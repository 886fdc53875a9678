// The README's promise for image processes, kept the way a person keeps it: in Swagger UI, against
// the real API server, run a configured image, watch its job go from accepted to successful, read
// its results.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { TestServer } from '../support/server.js';
import { launchChromium, SwaggerOperation } from '../support/swagger-ui.js';
import { API_TOKEN, ClusterFixture, imageProcessesConfig } from './support.js';

describe('Swagger UI runs an image process on the cluster (headless Chromium, real API server, kwok)', function () {
  this.timeout(120_000);
  const cluster = new ClusterFixture();
  let browser: Browser;
  let server: TestServer;

  before(async () => {
    browser = await launchChromium();
    await cluster.setUp('swagger');
    server = await cluster.server(imageProcessesConfig());
  });
  const swaggerUi = async (): Promise<Page> => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/api.html`);
    return page;
  };
  after(async () => {
    await browser?.close();
    await cluster.tearDown();
  });

  it('executes asynchronously with the token, follows the job from accepted to successful, and shows its results', async () => {
    const page = await swaggerUi();
    const created = await new SwaggerOperation(page, 'Processes', 'execute_greeter').execute({ Prefer: 'respond-async' }, { inputs: { token: API_TOKEN } });
    assert.equal(created.status, 201, created.body);
    assert.ok(created.documented);
    const { jobID, status } = JSON.parse(created.body) as { jobID: string; status: string };
    assert.equal(status, 'accepted');

    const statusOperation = new SwaggerOperation(page, 'Jobs', 'getStatus');
    const seen = [status];
    for (let attempt = 0; seen.at(-1) !== 'successful' && attempt < 30; attempt++) {
      const answer = await statusOperation.execute({ jobId: jobID });
      assert.equal(answer.status, 200, answer.body);
      const now = (JSON.parse(answer.body) as { status: string }).status;
      if (now !== seen.at(-1)) seen.push(now);
      if (now !== 'successful') await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(seen.at(-1), 'successful', `statuses seen: ${seen.join(' → ')}`);
    assert.ok(seen.every((s) => ['accepted', 'running', 'successful'].includes(s)), `statuses seen: ${seen.join(' → ')}`);

    const results = await new SwaggerOperation(page, 'Jobs', 'getResult').execute({ jobId: jobID });
    assert.equal(results.status, 200, results.body);
    assert.equal(results.body, 'hello from the pod', 'one output, raw: the value itself');
  });

  it('shows the documented 401 problem when the token is wrong, and no job is created', async () => {
    const before = (await cluster.jobsInNamespace()).length;
    const refused = await new SwaggerOperation(await swaggerUi(), 'Processes', 'execute_greeter').execute({ Prefer: 'respond-async' }, { inputs: { token: 'not-the-token' } });
    assert.equal(refused.status, 401, refused.body);
    assert.ok(refused.documented, 'the API document describes the 401');
    assert.match(refused.body, /token/i);
    assert.equal((await cluster.jobsInNamespace()).length, before, 'no Job was created');
  });
});
