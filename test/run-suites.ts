/**
 * `npm test`: every suite, in two groups.
 * 1. Suites that need no outside server: unit, api, browser (headless Chromium).
 * 2. Suites against the real servers (Kubernetes control plane, kwok, versitygw): this runner starts
 *    the test environment, points the suites at it with OGC_TESTENV_CONNECTION, and stops it after.
 * A server that cannot start fails the run with its reason; nothing is skipped. The last line is the
 * plain "N passed, N failed" that CI reads.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';
import { repoRoot } from './support/paths.js';
import { connectionFileVariable } from './testenv/connect.js';
import { startTestEnvironment, stopTestEnvironment } from './testenv/environment.js';

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

const compiled = join(repoRoot, 'dist', 'test');
const standalone = ['unit', 'api', 'browser'];
const againstServers = ['smoke', 'kubernetes'];
// `npm test -- unit api` runs only the named folders (for development; CI runs all).
const only = process.argv.slice(2);
const wanted = (folder: string) => only.length === 0 || only.includes(folder);

function testFiles(folders: string[]): string[] {
  return folders
    .filter(wanted)
    .map((folder) => join(compiled, folder))
    .filter((dir) => existsSync(dir))
    .flatMap((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.js')).sort().map((f) => join(dir, f)));
}

async function runMocha(files: string[]): Promise<Tally> {
  if (files.length === 0) return { passed: 0, failed: 0, skipped: 0 };
  const mocha = new Mocha({ timeout: 20_000, reporter: 'spec' });
  for (const file of files) mocha.addFile(file);
  await mocha.loadFilesAsync();
  return new Promise((resolve) => {
    const runner = mocha.run(() => {
      const stats = runner.stats!;
      mocha.dispose();
      resolve({ passed: stats.passes, failed: stats.failures, skipped: stats.pending });
    });
  });
}

async function main(): Promise<number> {
  const total: Tally = { passed: 0, failed: 0, skipped: 0 };
  const add = (tally: Tally) => {
    total.passed += tally.passed;
    total.failed += tally.failed;
    total.skipped += tally.skipped;
  };

  console.log(`Node ${process.version} (${process.execPath})`);
  add(await runMocha(testFiles(standalone)));

  const clusterFiles = testFiles(againstServers);
  if (clusterFiles.length > 0) {
    console.log('\nStarting the test environment (Kubernetes control plane, kwok, versitygw) ...');
    try {
      const environment = await startTestEnvironment({ log: (line) => console.log(`  ${line}`) });
      process.env[connectionFileVariable] = environment.connectionFile;
      try {
        add(await runMocha(clusterFiles));
      } finally {
        await stopTestEnvironment(environment.stateDir);
      }
    } catch (error) {
      console.error(`\nThe test environment failed, so the suites against real servers could not run:\n${error instanceof Error ? error.message : String(error)}`);
      total.failed += 1;
    }
  }

  console.log(`\n${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
  return total.failed > 0 ? 1 : 0;
}

process.exit(await main());
