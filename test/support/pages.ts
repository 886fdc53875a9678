import assert from 'node:assert/strict';
import { parse } from 'parse5';
import type { Page } from 'playwright-core';

/** Parses a page as a browser does and fails on any parse error (unclosed or misnested elements, stray end tags). */
export function assertWellFormed(html: string, where: string): void {
  const errors: string[] = [];
  parse(html, { onParseError: (error) => errors.push(`${error.code} at line ${error.startLine}, column ${error.startCol}`) });
  assert.deepEqual(errors, [], `${where} is not well-formed HTML`);
}

/** The same-origin links of a page that lead to other pages (f=html), found by parsing its HTML. */
export function pageLinks(html: string, base: string): string[] {
  const links: string[] = [];
  const visit = (node: { nodeName: string; attrs?: Array<{ name: string; value: string }>; childNodes?: unknown[] }) => {
    const href = node.nodeName === 'a' ? node.attrs?.find((attr) => attr.name === 'href')?.value : undefined;
    if (href) {
      const url = new URL(href, base);
      if (url.origin === new URL(base).origin && url.searchParams.get('f') === 'html') links.push(url.href);
    }
    for (const child of (node.childNodes ?? []) as Array<typeof node>) visit(child);
  };
  visit(parse(html) as unknown as Parameters<typeof visit>[0]);
  return links;
}

/** Marks the page, so that a test can tell later that it was not reloaded. */
export async function markNotReloaded(page: Page): Promise<() => Promise<boolean>> {
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
  return async () => page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true);
}
