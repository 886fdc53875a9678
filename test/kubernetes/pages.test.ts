// The pages with image processes on the real node: the token as a password that never shows, a job
// whose log grows on its page, the dashboard that sees it finish without reloading, and dismissal.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { realNodeProcess, type RealNodeConnection } from '../testenv/real-node.js';
import { assertWellFormed, markNotReloaded } from '../support/pages.js';
import type { TestServer } from '../support/server.js';
import { launchChromium } from '../support/swagger-ui.js';
import { API_TOKEN, ClusterFixture, realNodeOrSkip } from './support.js';

describe('Pages with image processes on the real node (headless Chromium)', function () {
  this.timeout(120_000);
  const cluster = new ClusterFixture();
  let node: RealNodeConnection;
  let browser: Browser;
  let server: TestServer;
  const requested: string[] = [];

  before(async function () {
    node = realNodeOrSkip(this);
    browser = await launchChromium();
    await cluster.setUp('pages');
    const process = (id: string, script: string) =>
      realNodeProcess(node, id, script, { options: ['resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 64Mi}}'], metadata: `{title: ${id}, outputs: {}}` });
    server = await cluster.server(`
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: silent}}
manager:
  local_store: {path: ':memory:'}
  sync_wait_seconds: 5
  kubernetes: {resync_seconds: 1}
resources:
${process('slow-printer', `printf '\\074img src=x onerror=alert(1)\\076\\n'; for i in 1 2 3 4 5 6; do echo "line $i"; sleep 1; done`)}
${process('sleeper', `trap 'exit 143' TERM; echo "sleeping"; sleep 120 & wait`)}
`);
  });
  after(async () => {
    await browser?.close();
    await cluster.tearDown();
  });

  const newPage = async (): Promise<Page> => {
    const page = await browser.newPage();
    page.on('request', (request) => requested.push(request.url()));
    return page;
  };

  /** Fills the token, asks for an asynchronous run and submits; the job page once it opens. */
  const runAsync = async (page: Page, processId: string, token: string) => {
    await page.goto(`${server.url}/processes/${processId}?f=html`);
    assert.equal(await page.locator('#field-token').getAttribute('type'), 'password');
    await page.locator('#field-token').fill(token);
    await page.getByLabel('Run in the background and follow the job (asynchronous)').check();
    await page.getByRole('button', { name: 'Run' }).click();
  };

  it('refuses a wrong token on the form without ever showing it', async () => {
    const page = await newPage();
    const answer = page.waitForResponse((response) => response.url().endsWith('/processes/slow-printer/form'));
    await runAsync(page, 'slow-printer', 'wrong-token-123');
    assert.equal((await answer).status(), 401);
    assert.match(await page.locator('.problem').innerText(), /does not match this server's API token/);
    assert.equal(await page.locator('#field-token').inputValue(), '', 'the token is not filled in again');
    assert.doesNotMatch(await page.content(), /wrong-token-123/);
  });

  it('shows the log growing on the job page, then the job finishing on the dashboard without reloading', async () => {
    const dashboard = await newPage();
    await dashboard.goto(`${server.url}/jobs?f=html`);
    const dashboardNotReloaded = await markNotReloaded(dashboard);

    const page = await newPage();
    await runAsync(page, 'slow-printer', API_TOKEN);
    await page.waitForURL(/\/jobs\/[0-9a-f-]+\?f=html$/);
    const jobID = /\/jobs\/([0-9a-f-]+)\?/.exec(page.url())![1]!;
    const notReloaded = await markNotReloaded(page);
    let dialogs = 0;
    page.on('dialog', (dialog) => {
      dialogs++;
      void dialog.dismiss();
    });
    const log = page.locator('pre.log');
    await log.filter({ hasText: 'line 1' }).waitFor({ timeout: 60_000 });
    assert.match(await log.innerText(), /^<img src=x onerror=alert\(1\)>\nline 1/, 'markup a container prints stays text');
    assert.equal(await log.locator('img').count(), 0);
    const early = await log.innerText();
    assert.doesNotMatch(early, /line 6/, 'the first lines show before the last is written');
    // A second viewer of the running job: it gets the log so far, and both share one follow of the pod's log.
    const second = await newPage();
    await second.goto(page.url());
    await second.locator('pre.log').filter({ hasText: 'line 1' }).waitFor({ timeout: 30_000 });
    assert.equal(server.services.liveJobs.logsFollowed, 1, 'one pods/log stream for two pages');
    await log.filter({ hasText: 'line 6' }).waitFor({ timeout: 30_000 });
    assert.ok(await notReloaded(), 'the log grew on the page as it was');
    assert.match(await second.locator('pre.log').innerText(), /line 1\nline 2\nline 3\nline 4\nline 5\nline 6/, 'the second page, whole and in order');

    await page.locator('#job-status .status', { hasText: 'successful' }).waitFor({ timeout: 30_000 });
    await dashboard.locator(`tr[data-job-id="${jobID}"] .status`, { hasText: 'successful' }).waitFor({ timeout: 30_000 });
    assert.ok(await dashboardNotReloaded(), 'the dashboard updated itself');
    assert.deepEqual(await page.locator('.timeline strong').allInnerTexts(), ['accepted', 'running', 'successful']);

    assertWellFormed(await (await fetch(page.url(), { headers: { Accept: 'text/html' } })).text(), 'the job page');
    await page.getByRole('link', { name: 'The log as a page' }).click();
    assert.match(await page.locator('pre.log').innerText(), /line 1\nline 2\nline 3\nline 4\nline 5\nline 6/);
    assertWellFormed(await (await fetch(page.url(), { headers: { Accept: 'text/html' } })).text(), 'the log page');
    assert.equal(await page.locator('pre.log img').count(), 0, 'the log page prints the markup as text too');
    assert.equal(dialogs, 0, 'no script from the log ran');
  });

  it('dismisses a running job from its page', async () => {
    const page = await newPage();
    await runAsync(page, 'sleeper', API_TOKEN);
    await page.waitForURL(/\/jobs\/[0-9a-f-]+\?f=html$/);
    await page.getByText('Dismiss this job…').click();
    await page.getByRole('button', { name: 'Yes, dismiss it' }).click();
    await page.locator('#job-status .status', { hasText: 'dismissed' }).waitFor({ timeout: 30_000 });
  });

  it('never put the token in a URL', () => {
    assert.ok(requested.length > 0);
    assert.deepEqual(requested.filter((url) => url.includes(API_TOKEN) || url.includes('wrong-token-123')), []);
  });
});
