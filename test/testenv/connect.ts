import { KubeConfig } from '../../src/kubernetes/client-node.js';
import { readFileSync } from 'node:fs';
import type { TestEnvironment } from './environment.js';
import { TestEnvironmentError } from './errors.js';

/** Environment variable that names a running environment's connection file. */
export const connectionFileVariable = 'OGC_TESTENV_CONNECTION';

/**
 * The running test environment named by $OGC_TESTENV_CONNECTION (the path `npm run testenv:up` prints).
 * Throws a TestEnvironmentError that says what to do when it is unset or unreadable.
 */
export function loadTestEnvironment(): TestEnvironment {
  const path = process.env[connectionFileVariable];
  if (!path) {
    throw new TestEnvironmentError(
      `${connectionFileVariable} is not set. Start the environment with \`npm run testenv:up\` and set ${connectionFileVariable} to the connection file it prints.`,
    );
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as TestEnvironment;
  } catch (error) {
    throw new TestEnvironmentError(
      `cannot read the test environment's connection file ${path} (${(error as Error).message}); is it running? Start it with \`npm run testenv:up\`.`,
    );
  }
}

/** A KubeConfig for the environment's admin user. */
export function adminKubeConfig(env: TestEnvironment): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(env.kubeconfigPath);
  return kc;
}
