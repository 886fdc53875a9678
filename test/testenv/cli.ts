/**
 * `node dist/test/testenv/cli.js up|down [stateDir]`: starts the test environment (servers keep running
 * detached; prints the connection file's path on stdout) or stops it.
 */
import { startTestEnvironment, stopTestEnvironment } from './environment.js';

const [command, stateDir] = process.argv.slice(2);
try {
  if (command === 'up') {
    const env = await startTestEnvironment(stateDir ? { stateDir } : {});
    console.log(env.connectionFile);
  } else if (command === 'down') {
    await stopTestEnvironment(stateDir);
  } else {
    console.error('usage: cli.js up|down [stateDir]');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  process.exitCode = 1;
}
