import assert from 'node:assert/strict';
import { echoProcess } from '../../processes/echo.js';
import { wordFrequenciesProcess } from '../../processes/word-frequencies.js';
import { InvalidInputs } from '../../src/errors.js';
import { executeRequestOf, formFields } from '../../src/pages/form.js';
import type { Process } from '../../src/processes/process.js';

describe('the run form of a process', () => {
  it('makes a field of each kind from the input schemas', () => {
    const kinds = Object.fromEntries(formFields(echoProcess()).map((field) => [field.id, field.kind]));
    assert.deepEqual(kinds, {
      string_input: 'text',
      number_input: 'number',
      boolean_input: 'boolean',
      object_input: 'json',
      integer_array_input: 'json',
      array_input: 'json',
      bbox_input: 'json',
      csv_input: 'textarea',
      string_or_number_input: 'json',
      pause: 'number',
    });
    assert.deepEqual(formFields(wordFrequenciesProcess()).map((field) => [field.kind, field.accept]), [['file', 'text/plain']]);
  });

  it('makes the token a password field that is never filled in again', () => {
    const protectedProcess: Process = {
      backend: 'local',
      requiresToken: true,
      description: { ...echoProcess().description, inputs: { token: { title: 'Token', minOccurs: 1, schema: { type: 'string' } } } },
    };
    const [token] = formFields(protectedProcess, { token: 'secret-value' });
    assert.equal(token!.kind, 'password');
    assert.equal(token!.value, '');
  });

  it('turns texts into values by kind, leaves empty fields out, and names text that is not JSON', () => {
    const process = echoProcess();
    const request = executeRequestOf(process, {
      texts: { string_input: '42', number_input: '2.5e1', boolean_input: 'false', object_input: '{"a": 1}', pause: '', csv_input: 'a,b' },
      files: {},
      respondAsync: false,
    });
    assert.deepEqual(request, { inputs: { string_input: '42', number_input: 25, boolean_input: false, object_input: { a: 1 }, csv_input: 'a,b' }, response: 'document' });
    assert.deepEqual(executeRequestOf(process, { texts: { number_input: 'twelve' }, files: {}, respondAsync: false }).inputs, { number_input: 'twelve' }, 'left for the validator to name');
    assert.throws(() => executeRequestOf(process, { texts: { array_input: '[1,' }, files: {}, respondAsync: false }), (error: unknown) => error instanceof InvalidInputs && /input 'array_input': is not valid JSON/.test(error.message));
  });

  it('sends an uploaded file as a base64 qualified value', () => {
    const request = executeRequestOf(wordFrequenciesProcess(), { texts: {}, files: { text: { bytes: Buffer.from('a b'), mediaType: 'text/plain' } }, respondAsync: true });
    assert.deepEqual(request.inputs, { text: { value: 'YSBi', mediaType: 'text/plain', encoding: 'base64' } });
  });
});
