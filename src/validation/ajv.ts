import { Ajv, type ErrorObject, type Options } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { ProblemList } from '../errors.js';

// ajv-formats is published as CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsPlugin as unknown as typeof addFormatsPlugin.default;

/** One ajv setup for the whole server: draft-07, all errors, formats checked. */
export function createAjv(options: Options = {}): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, ...options });
  addFormats(ajv);
  // OGC process descriptions mark a bounding box object with this format: a name, with nothing
  // to check (left unknown, ajv would warn on the console for every schema that uses it).
  ajv.addFormat('ogc-bbox', true);
  return ajv;
}

/**
 * "/a/b: must be integer" lines a person can act on, one per ajv error: the first
 * MAX_LISTED_PROBLEMS, then a line saying how many more (a query of thousands of bad values must
 * not make an answer fifty times its size).
 */
export function describeErrors(errors: ErrorObject[] | null | undefined, root = ''): string[] {
  const list = ProblemList.of(errors ?? []);
  const lines = list.listed.map((error) => `${pathOf(error, root) || '(top level)'}: ${messageOf(error)}`);
  const more = list.total - list.listed.length;
  return more > 0 ? [...lines, `and ${more} more`] : lines;
}

export function pathOf(error: ErrorObject, root = ''): string {
  const missing = error.keyword === 'required' ? `/${String(error.params.missingProperty)}` : '';
  const extra =
    error.keyword === 'additionalProperties' ? `/${String(error.params.additionalProperty)}` : '';
  return `${root}${error.instancePath}${missing}${extra}`;
}

export function messageOf(error: ErrorObject): string {
  switch (error.keyword) {
    case 'additionalProperties':
      return 'is not a known property';
    case 'required':
      return 'is required';
    case 'enum':
      return `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return error.message ?? 'is invalid';
  }
}
