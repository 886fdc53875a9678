/**
 * `node dist/test/testenv/cli.js up|down [stateDir]`: starts the test environment (servers keep running
 * detached; prints the connection file's path on stdout) or stops it.
 * `amqp-up stateDir [connectionFile]` / `amqp-down stateDir`: a broker alone (development beside an
 * environment started without one): with a connection file, writes a copy with its `amqp` to
 * `<stateDir>/connection.json` and prints that path, for OGC_TESTENV_CONNECTION.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startAmqpBroker, stopAmqpBroker } from './amqp-broker.js';
import { startTestEnvironment, stopTestEnvironment } from './environment.js';

const [command, stateDir, connectionFile] = process.argv.slice(2);
try {
  if (command === 'up') {
    const env = await startTestEnvironment(stateDir ? { stateDir } : {});
    console.log(env.connectionFile);
  } else if (command === 'down') {
    await stopTestEnvironment(stateDir);
  } else if (command === 'amqp-up' && stateDir) {
    const amqp = await startAmqpBroker(resolve(stateDir));
    if (connectionFile) {
      const copy = join(resolve(stateDir), 'connection.json');
      writeFileSync(copy, `${JSON.stringify({ ...(JSON.parse(readFileSync(connectionFile, 'utf8')) as object), amqp }, null, 2)}\n`, { mode: 0o600 });
      console.log(copy);
    }
  } else if (command === 'amqp-down' && stateDir) {
    await stopAmqpBroker(resolve(stateDir));
  } else {
    console.error('usage: cli.js up|down [stateDir] | amqp-up stateDir [connectionFile] | amqp-down stateDir');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  process.exitCode = 1;
}
