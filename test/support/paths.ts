import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from the compiled file's place (dist/test/support). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** ../shared beside the repository: the standard's schemas live there, not in the repo. */
export function sharedFile(relative: string): string {
  const path = resolve(repoRoot, '..', 'shared', relative);
  if (!existsSync(path)) {
    throw new Error(`Missing ${path}: the tests read the OGC schemas from ../shared beside the repository (see the README's Testing section).`);
  }
  return path;
}
