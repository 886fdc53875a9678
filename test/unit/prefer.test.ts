import assert from 'node:assert/strict';
import { executionPreferences, parsePrefer } from '../../src/http/prefer.js';

describe('Prefer header (RFC 7240)', () => {
  it('reads tokens, values and quoted values, ignoring parameters', () => {
    assert.deepEqual([...parsePrefer('respond-async, wait=10; x=1, return="rep,resentation"')], [
      ['respond-async', ''],
      ['wait', '10'],
      ['return', 'rep,resentation'],
    ]);
  });

  it('is case-insensitive and keeps the first of repeated preferences', () => {
    assert.deepEqual([...parsePrefer(['Wait=5', 'WAIT=9'])], [['wait', '5']]);
  });

  it('ignores what it cannot understand', () => {
    assert.deepEqual(executionPreferences('wait=soon, respond async, =x'), { respondAsync: false });
    assert.deepEqual(executionPreferences(undefined), { respondAsync: false });
  });

  it('yields the execution preferences', () => {
    assert.deepEqual(executionPreferences('respond-async, wait=3'), { respondAsync: true, waitSeconds: 3 });
  });
});
