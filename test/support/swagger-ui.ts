import { existsSync } from 'node:fs';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless Debian Chromium, with nothing that reaches out to other hosts; a clear error without it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is needed at ${CHROMIUM} for this suite: install it with 'apt-get install chromium' (.ci/run does), or set CHROMIUM_PATH.`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** One operation of the Swagger UI page, driven the way a person does: expand, "Try it out", fill in, "Execute". */
export class SwaggerOperation {
  private readonly block: Locator;
  private tryingOut = false;

  constructor(page: Page, tag: string, operationId: string) {
    this.block = page.locator(`#operations-${tag}-${operationId}`);
  }

  /**
   * Executes with these parameters (by name) and request body; answers the status and body Swagger UI
   * shows, and whether the API document describes that status (Swagger UI marks it "Undocumented" if not).
   */
  async execute(parameters: Record<string, string> = {}, body?: unknown): Promise<{ status: number; body: string; documented: boolean }> {
    if (!this.tryingOut) {
      await this.block.locator('.opblock-summary').click();
      await this.block.locator('.try-out__btn').click();
      this.tryingOut = true;
    } else {
      await this.block.locator('button.btn-clear').click(); // the previous response goes, so the next one is new
    }
    for (const [name, value] of Object.entries(parameters)) await this.block.locator(`tr[data-param-name="${name}"] input`).fill(value);
    if (body !== undefined) await this.block.locator('textarea.body-param__text').fill(JSON.stringify(body));
    await this.block.locator('button.execute').click();
    const status = this.block.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor({ timeout: 15_000 });
    return {
      status: Number.parseInt(await status.innerText(), 10),
      body: await this.block.locator('.live-responses-table tbody .response-col_description pre').first().innerText(),
      documented: (await this.block.locator('.live-responses-table .response-undocumented').count()) === 0,
    };
  }
}
