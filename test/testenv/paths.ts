import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root; this module runs compiled, from dist/test/testenv/. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Default state dir: git-ignored, one per checkout. */
export const defaultStateDir = join(repoRoot, '.testenv');
