import assert from 'node:assert/strict';
import { InvalidInputs } from '../../src/errors.js';
import { InputValidator } from '../../src/processes/inputs.js';
import type { ProcessDescription } from '../../src/processes/process.js';
import { createAjv } from '../../src/validation/ajv.js';

/**
 * A process whose input names are also names of Object.prototype, as an image process may declare
 * (parsed, as from the configuration: a '__proto__' key in a literal would set the prototype).
 */
const oddlyNamed: ProcessDescription = {
  id: 'odd',
  version: '1',
  title: 'Odd names',
  jobControlOptions: ['sync-execute'],
  outputTransmission: ['value'],
  inputs: JSON.parse('{"constructor": {"schema": {"type": "string"}, "minOccurs": 0}, "__proto__": {"schema": {"type": "object"}, "minOccurs": 0}}'),
  outputs: {},
};

describe('input validation: names that are also Object.prototype members', () => {
  const validator = new InputValidator(createAjv());
  validator.register(oddlyNamed);

  it('does not take Object.prototype members for inputs the client left out', () => {
    assert.deepEqual(validator.validate(oddlyNamed, {}), {});
  });

  it('keeps an input named __proto__ as an own member, never as the prototype', () => {
    const accepted = validator.validate(oddlyNamed, JSON.parse('{"__proto__": {"polluted": true}, "constructor": "c"}'));
    assert.deepEqual(Object.keys(accepted), ['constructor', '__proto__']);
    assert.equal(Object.getPrototypeOf(accepted), Object.prototype);
    assert.equal((accepted as { polluted?: boolean }).polluted, undefined);
    assert.deepEqual(Object.getOwnPropertyDescriptor(accepted, '__proto__')?.value, { polluted: true });
  });

  it('names toString and hasOwnProperty as unknown inputs', () => {
    assert.throws(() => validator.validate(oddlyNamed, { toString: 1, hasOwnProperty: 2 }), (error: unknown) => {
      assert.ok(error instanceof InvalidInputs);
      assert.deepEqual(error.problems.map((p) => p.input), ['toString', 'hasOwnProperty']);
      return true;
    });
  });
});

describe('input validation: qualified values', () => {
  const validator = new InputValidator(createAjv());
  const process: ProcessDescription = {
    id: 'qualified',
    version: '1',
    title: 'Qualified values',
    jobControlOptions: ['sync-execute'],
    outputTransmission: ['value'],
    inputs: { count: { schema: { type: 'integer' }, minOccurs: 0 } },
    outputs: {},
  };
  validator.register(process);

  it('takes the value of a qualified value whose format members are as the standard types them', () => {
    assert.deepEqual(validator.validate(process, { count: { value: 3, mediaType: 'application/json', encoding: 'utf-8', schema: 'https://example.org/count.json' } }), { count: 3 });
  });

  it('refuses one whose mediaType, encoding or schema is not, naming the member', () => {
    for (const [member, bad] of [['mediaType', 5], ['encoding', null], ['schema', 'not a uri']] as const) {
      assert.throws(() => validator.validate(process, { count: { value: 3, [member]: bad } }), (error: unknown) => {
        assert.ok(error instanceof InvalidInputs);
        assert.match(error.message, new RegExp(`input 'count': is a qualified value whose ${member}`));
        return true;
      });
    }
  });
});
