import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/** The schemathesis release the suite runs; its dependencies are pinned by constraints.txt beside the hooks. */
export const SCHEMATHESIS_VERSION = '4.32.5';

export const schemathesisFiles = join(repoRoot, 'test', 'support', 'schemathesis');

/**
 * The schemathesis command, from a virtual environment outside the repository, made once per version
 * under ~/.cache/ogcapi-k8s-manager (OGC_TESTENV_CACHE overrides the folder) with the package index pip
 * is set up for. A failure says why and what ran; nothing is skipped.
 */
export function schemathesisCommand(): string {
  const cache = process.env.OGC_TESTENV_CACHE ?? join(homedir(), '.cache', 'ogcapi-k8s-manager');
  const venv = join(cache, `schemathesis-${SCHEMATHESIS_VERSION}`);
  const command = join(venv, 'bin', 'schemathesis');
  const installed = join(venv, '.installed');
  if (existsSync(installed)) return command;
  // A venv's scripts name its own path, so it is made where it stays; a half-made one is made again.
  rmSync(venv, { recursive: true, force: true });
  mkdirSync(cache, { recursive: true });
  const python = findPython();
  run(python, ['-m', 'venv', venv]);
  run(join(venv, 'bin', 'python'), [
    '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input',
    '--constraint', join(schemathesisFiles, 'constraints.txt'), `schemathesis==${SCHEMATHESIS_VERSION}`,
  ]);
  run(command, ['--version']);
  writeFileSync(installed, `${SCHEMATHESIS_VERSION}\n`);
  return command;
}

/** Python 3.10 or newer (schemathesis 4 needs it): python3.11 where it is, else python3. */
function findPython(): string {
  for (const candidate of ['python3.11', 'python3.12', 'python3.13', 'python3']) {
    const probe = spawnSync(candidate, ['-c', 'import sys, venv; print(sys.version_info >= (3, 10))'], { encoding: 'utf8' });
    if (probe.status === 0 && probe.stdout.trim() === 'True') return candidate;
  }
  throw new Error('schemathesis needs Python 3.10 or newer with its venv module (python3.11 or python3 on PATH); none was found.');
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10 * 60_000, maxBuffer: 16 * 1024 * 1024 });
  if (result.status !== 0) {
    const why = result.error ? result.error.message : `exit ${result.status ?? result.signal}`;
    throw new Error(`Installing schemathesis failed (${why}): ${command} ${args.join(' ')}\n${result.stdout ?? ''}${result.stderr ?? ''}`);
  }
}
