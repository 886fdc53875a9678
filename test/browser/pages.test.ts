// The pages, used the way a person uses them in a browser: from the landing page to a process, its
// form run both ways, the dashboard that follows jobs without reloading, results, logs, dismissal.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { assertWellFormed, markNotReloaded, pageLinks } from '../support/pages.js';
import { DEFAULT_TEST_CONFIG, startTestServer, type TestServer } from '../support/server.js';
import { launchChromium } from '../support/swagger-ui.js';

const HOSTILE = '<script>alert(1)</script>';

// The default test server, titled with hostile text, with a process that takes a file.
const CONFIG = `${DEFAULT_TEST_CONFIG.replace('logging: {level: silent}', `logging: {level: silent}\n  title: "Processes ${HOSTILE}"`)}  word-frequencies: {type: process, processor: {name: WordFrequencies}}\n`;

describe('Pages in a browser (headless Chromium, local processes)', function () {
  this.timeout(60_000);
  let server: TestServer;
  let browser: Browser;
  const dialogs: string[] = [];

  before(async () => {
    browser = await launchChromium();
    server = await startTestServer({ configYaml: CONFIG });
    // A process whose title and description a hostile configuration wrote.
    const echo = server.services.registry.get('echo').description;
    echo.title = `Echo ${HOSTILE}`;
    echo.description = `Says back ${HOSTILE} & more`;
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const newPage = async (): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    return page;
  };
  afterEach(() => assert.deepEqual(dialogs, [], 'no script of a hostile value ran'));

  it('goes from the landing page to a process, runs its form synchronously and shows the results', async () => {
    const page = await newPage();
    await page.goto(server.url);
    assert.equal(await page.locator('h1').innerText(), `Processes ${HOSTILE}`, 'the hostile title shows as text');
    await page.getByRole('link', { name: 'Processes', exact: true }).first().click();
    await page.getByRole('link', { name: `Echo ${HOSTILE}` }).click();
    assert.equal(await page.locator('h1').innerText(), `Echo ${HOSTILE}`);
    assert.match(await page.locator('.lead').innerText(), /Says back <script>alert\(1\)<\/script> & more/);

    await page.locator('#field-string_input').fill(HOSTILE);
    await page.locator('#field-number_input').fill('2.5');
    await page.locator('#field-boolean_input').selectOption('true');
    await page.locator('#field-object_input').fill('{"a": [1, 2]}');
    await page.locator('#field-integer_array_input').fill('[1, 2, 3]');
    await page.locator('#field-bbox_input').fill('{"bbox": [1, 2, 3, 4], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}');
    await page.getByLabel('Wait for the results (synchronous)').check();
    await page.getByRole('button', { name: 'Run' }).click();
    await page.waitForURL(/\/results\?f=html$/);
    const outputs = await page.locator('section.output').allInnerTexts();
    assert.ok(outputs.some((text) => text.includes(HOSTILE)), 'the hostile input comes back as text');
    assert.ok(outputs.some((text) => text.includes('2.5')));
    assert.ok(outputs.some((text) => /"a": \[\s*1,\s*2\s*\]/.test(text)));
    assert.ok(outputs.some((text) => text.includes('"crs"')));

    await page.getByRole('link', { name: 'The job' }).click();
    assert.equal(await page.locator('#job-status .status').innerText(), 'successful');
    assert.deepEqual(await page.locator('.timeline strong').allInnerTexts(), ['accepted', 'running', 'successful']);
    assert.equal(await page.locator('.timeline time').count(), 3, 'each step has its time');
    assert.match(await page.locator('#log').innerText(), /local process.*no container logs/);
  });

  it('shows the API\'s own validation message on the form, keeping what was typed', async () => {
    const page = await newPage();
    await page.goto(`${server.url}/processes/echo?f=html`);
    await page.locator('#field-string_input').fill('kept');
    await page.locator('#field-pause').fill('99999');
    await page.locator('#field-object_input').fill('{not json');
    const answer = page.waitForResponse((response) => response.url().endsWith('/processes/echo/form'));
    await page.getByRole('button', { name: 'Run' }).click();
    assert.equal((await answer).status(), 400);
    assert.match(await page.locator('.problem').innerText(), /input 'object_input': is not valid JSON/);
    assert.equal(await page.locator('#field-string_input').inputValue(), 'kept');
    assert.equal(await page.locator('#field-object_input').inputValue(), '{not json');

    await page.locator('#field-object_input').fill('{}');
    await page.getByRole('button', { name: 'Run' }).click();
    assert.match(await page.locator('.problem').innerText(), /input 'pause': must be <= 3600/);
    const api = await server.client.execute('echo', { inputs: { string_input: 'kept', pause: 99999, object_input: {} } });
    assert.equal(api.status, 400);
    assert.equal(await page.locator('.problem p').innerText(), api.body.detail, 'the same message as the API');
  });

  it('runs asynchronously: the job appears and finishes on the dashboard without reloading', async () => {
    const dashboard = await newPage();
    await dashboard.goto(`${server.url}/jobs?f=html`);
    const notReloaded = await markNotReloaded(dashboard);

    const form = await newPage();
    await form.goto(`${server.url}/processes/echo?f=html`);
    await form.locator('#field-pause').fill('2');
    await form.locator('#field-string_input').fill('in the background');
    await form.getByLabel('Run in the background and follow the job (asynchronous)').check();
    await form.getByRole('button', { name: 'Run' }).click();
    await form.waitForURL(/\/jobs\/[0-9a-f-]+\?f=html$/);
    const jobID = /\/jobs\/([0-9a-f-]+)\?/.exec(form.url())![1]!;
    const jobPageNotReloaded = await markNotReloaded(form);

    const row = dashboard.locator(`tr[data-job-id="${jobID}"]`);
    await row.waitFor({ timeout: 10_000 });
    await row.locator('.status', { hasText: 'successful' }).waitFor({ timeout: 15_000 });
    assert.ok(await notReloaded(), 'the dashboard updated itself');
    await form.locator('#job-status .status', { hasText: 'successful' }).waitFor({ timeout: 10_000 });
    assert.ok(await jobPageNotReloaded(), 'the job page updated itself');
    assert.equal(await form.locator('.timeline time').count(), 3);

    await form.getByRole('link', { name: 'Results' }).click();
    assert.match(await form.locator('section.output').first().innerText(), /in the background/);
  });

  it('uploads a file to a process that takes files, and links the file it returns', async () => {
    const page = await newPage();
    await page.goto(`${server.url}/processes/word-frequencies?f=html`);
    await page.locator('#field-text').setInputFiles({ name: 'words.txt', mimeType: 'text/plain', buffer: Buffer.from('the cat and the hat') });
    await page.getByRole('button', { name: 'Run' }).click();
    await page.waitForURL(/\/results\?f=html$/);
    assert.match(await page.locator('section.output').last().innerText(), /"words": 5/);
    const download = await page.getByRole('link', { name: 'Download' }).getAttribute('href');
    const csv = await fetch(download!);
    assert.equal(await csv.text(), 'word,count\nthe,2\nand,1\ncat,1\nhat,1\n');
  });

  it('dismisses a running job from its page, after a confirmation', async () => {
    const created = await server.client.execute('echo', { inputs: { pause: 60 } }, { Prefer: 'respond-async' });
    const page = await newPage();
    await page.goto(`${server.url}/jobs/${created.body.jobID}?f=html`);
    assert.match(await page.locator('#job-status .status').innerText(), /^(accepted|running)$/);
    const confirm = page.getByRole('button', { name: 'Yes, dismiss it' });
    assert.equal(await confirm.isVisible(), false, 'the button shows only once asked for');
    await page.getByText('Dismiss this job…').click();
    await confirm.click();
    await page.locator('#job-status .status', { hasText: 'dismissed' }).waitFor();
    assert.equal((await server.client.get(`/jobs/${created.body.jobID}`)).body.status, 'dismissed');
  });

  it('serves well-formed pages, every one reachable from the landing page', async () => {
    await server.client.execute('hello-world', { inputs: { name: HOSTILE } });
    await server.client.execute('echo', { inputs: { pause: 60 } }, { Prefer: 'respond-async' });
    const seen = new Set<string>();
    const queue = [`${server.url}/?f=html`];
    const kinds = new Set<string>();
    while (queue.length > 0 && seen.size < 200) {
      const url = queue.shift()!;
      if (seen.has(url)) continue;
      seen.add(url);
      const response = await fetch(url);
      const html = await response.text();
      assert.equal(response.status, 200, `${url}: ${html.slice(0, 300)}`);
      assert.match(String(response.headers.get('content-type')), /^text\/html/);
      assert.match(String(response.headers.get('content-security-policy')), /script-src 'self'/);
      assertWellFormed(html, url);
      kinds.add(new URL(url).pathname.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/, '{jobId}').replace(/\/processes\/[^/]+/, '/processes/{processId}'));
      queue.push(...pageLinks(html, url).filter((link) => !seen.has(link)));
    }
    assert.ok(seen.size < 200, 'the crawl ended');
    for (const kind of ['/', '/conformance', '/processes', '/processes/{processId}', '/jobs', '/jobs/{jobId}', '/jobs/{jobId}/results']) {
      assert.ok(kinds.has(kind), `${kind} is reachable from the landing page (reached: ${[...kinds].join(', ')})`);
    }
  });
});

describe('The jobs dashboard (headless Chromium)', function () {
  this.timeout(60_000);
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    browser = await launchChromium();
    server = await startTestServer({ configYaml: DEFAULT_TEST_CONFIG });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('shows jobs in each state with their progress and duration; a running one counts up', async () => {
    await server.client.execute('hello-world', { inputs: { name: 'Ada' } });
    await server.client.execute('echo', { inputs: { string_input: 'hi' } });
    const running = await server.client.execute('echo', { inputs: { pause: 60 } }, { Prefer: 'respond-async' });
    const dismissed = await server.client.execute('echo', { inputs: { pause: 60 } }, { Prefer: 'respond-async' });
    await server.client.delete(`/jobs/${dismissed.body.jobID}`);
    const page = await browser.newPage({ viewport: { width: 900, height: 420 } });
    await page.goto(`${server.url}/jobs`);
    assert.deepEqual(await page.locator('tbody .status').allInnerTexts(), ['dismissed', 'running', 'successful', 'successful']);
    const duration = page.locator(`tr[data-job-id="${running.body.jobID}"] td[data-running-since]`);
    const first = await duration.innerText();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.notEqual(await duration.innerText(), first, 'the duration of the running job counts up');
    // The README's picture: DASHBOARD_SCREENSHOT=docs/dashboard.png
    if (process.env.DASHBOARD_SCREENSHOT) await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT });
  });
});
