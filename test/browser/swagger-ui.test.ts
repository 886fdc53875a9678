import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.js';
import { launchChromium, SwaggerOperation } from '../support/swagger-ui.js';

describe('Swagger UI at /api.html (headless Chromium)', function () {
  this.timeout(60_000);
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    browser = await launchChromium();
    server = await startTestServer();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('executes hello-world from "Try it out" and shows the greeting', async () => {
    const page = await browser.newPage();
    const outside: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(server.url) && !request.url().startsWith('data:')) outside.push(request.url());
    });
    await page.goto(`${server.url}/api.html`);
    const answer = await new SwaggerOperation(page, 'Processes', 'execute_hello_world').execute({}, { inputs: { name: 'Swagger' }, response: 'document' });
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), { greeting: 'Hello Swagger!' });
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: false });
    assert.deepEqual(outside, [], 'Swagger UI loads nothing from other hosts');
    const jobs = await server.client.get('/jobs?processID=hello-world');
    assert.equal(jobs.body.numberMatched, 1, 'the execution created one job');
  });
});
