import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import { boundHeapGrowth, warnOnUnsupportedNode } from '../../src/process-lifecycle.js';

describe('Heap growth of the server and controller processes', () => {
  const flagsSet = (execArgv: string[]) => {
    const set: string[] = [];
    boundHeapGrowth(execArgv, (flags) => set.push(flags));
    return set;
  };

  it('lets the heap grow by half the live set between full collections', () => {
    assert.deepEqual(flagsSet([]), ['--heap-growing-percent=50']);
    assert.deepEqual(flagsSet(['--enable-source-maps']), ['--heap-growing-percent=50']);
  });

  it('leaves a growth given on the command line alone, in either spelling', () => {
    assert.deepEqual(flagsSet(['--heap-growing-percent=80']), []);
    assert.deepEqual(flagsSet(['--heap_growing_percent=80']), []);
  });
});

describe('The Node releases the server accepts (package.json engines)', () => {
  const warnings = (version: string) => {
    const logged: string[] = [];
    warnOnUnsupportedNode({ warn: (_details: object, message: string) => logged.push(message) } as unknown as Logger, version);
    return logged;
  };

  it('starts quietly on the releases that have node:sqlite', () => {
    for (const version of ['v22.13.0', 'v22.23.3', 'v24.21.0', 'v26.12.1']) assert.deepEqual(warnings(version), [], version);
  });

  it('warns on releases without it (Node 20, early 22), naming the release and the decision', () => {
    for (const version of ['v20.20.2', 'v22.12.0']) assert.match(warnings(version)[0] ?? '', new RegExp(`Node ${version.replace(/\./g, '\\.')} is not supported .*0019-node-26-and-node-sqlite\\.md`));
  });
});
