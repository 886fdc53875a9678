import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { createAjv, describeErrors } from '../../src/validation/ajv.js';
import { sharedFile } from './paths.js';

export type OgcShape =
  | 'landingPage' | 'confClasses' | 'processList' | 'process' | 'statusInfo' | 'jobList' | 'results' | 'exception' | 'execute' | 'bbox';

const ajv = createAjv({ useDefaults: false });
const bundle = JSON.parse(readFileSync(sharedFile('ogc-processes-1.0/bundled/processes-part1-1.0.0-schemas.ajv.json'), 'utf8')) as Record<string, unknown>;
delete bundle.$schema;
ajv.addSchema(bundle, 'ogc');
const validators = new Map<OgcShape, ValidateFunction>();

/** Throws, naming each violation, unless the document follows the standard's own schema. */
export function assertOgc(shape: OgcShape, document: unknown): void {
  let validate = validators.get(shape);
  if (!validate) {
    validate = ajv.getSchema(`ogc#/$defs/${shape}`);
    if (!validate) throw new Error(`The OGC bundle has no schema '${shape}'`);
    validators.set(shape, validate);
  }
  if (!validate(document)) {
    throw new Error(`Response is not a valid OGC ${shape}: ${describeErrors(validate.errors).join('; ')}\n${JSON.stringify(document).slice(0, 2000)}`);
  }
}
