import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('Swagger UI at /api.html (headless Chromium)', function () {
  this.timeout(60_000);
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is needed at ${CHROMIUM} for this suite: install it with 'apt-get install chromium' (.ci/run does), or set CHROMIUM_PATH.`);
    }
    server = await startTestServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
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
    const operation = page.locator('#operations-Processes-execute_hello_world');
    await operation.locator('.opblock-summary').click();
    await operation.locator('.try-out__btn').click();
    await operation.locator('textarea.body-param__text').fill(JSON.stringify({ inputs: { name: 'Swagger' }, response: 'document' }));
    await operation.locator('button.execute').click();
    const status = operation.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor({ timeout: 15_000 });
    assert.equal((await status.innerText()).trim(), '200');
    const body = await operation.locator('.live-responses-table tbody .response-col_description pre').first().innerText();
    assert.deepEqual(JSON.parse(body), { greeting: 'Hello Swagger!' });
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: false });
    assert.deepEqual(outside, [], 'Swagger UI loads nothing from other hosts');
    const jobs = await server.client.get('/jobs?processID=hello-world');
    assert.equal(jobs.body.numberMatched, 1, 'the execution created one job');
  });
});
