import assert from 'node:assert/strict';
import { echoProcess } from '../../processes/echo.js';
import { createAjv } from '../../src/validation/ajv.js';

describe('ajv setup', () => {
  it('knows the OGC bounding box format, so compiling the echo process warns of nothing', () => {
    const warnings: unknown[][] = [];
    const ajv = createAjv({ logger: { log: () => undefined, warn: (...args: unknown[]) => warnings.push(args), error: () => undefined } });
    const { inputs, outputs } = echoProcess().description;
    for (const { schema } of [...Object.values(inputs), ...Object.values(outputs)]) ajv.compile(schema);
    assert.deepEqual(warnings, []);
  });
});
