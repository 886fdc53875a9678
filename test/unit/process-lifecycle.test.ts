import assert from 'node:assert/strict';
import { boundHeapGrowth } from '../../src/process-lifecycle.js';

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
