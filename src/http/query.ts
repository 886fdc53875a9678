import type { Ajv, ValidateFunction } from 'ajv';
import type { FromSchema } from 'json-schema-to-ts';
import { InvalidParameter, shortName } from '../errors.js';
import { jobStatusSchema } from '../ogc/schemas.js';
import { describeErrors } from '../validation/ajv.js';

const limit = { type: 'integer', minimum: 1, maximum: 10000, default: 10, description: 'The most items a page holds.' } as const;
const cursor = { type: 'string', minLength: 1, description: 'Opaque position in the list, taken from a next or prev link.' } as const;
const format = { type: 'string', enum: ['json', 'html'], description: 'Response format: json (the default), or html, a page for people (also chosen by Accept: text/html).' } as const;

// RFC 3339 date-times as Date.parse reads them all (hours 00-23, no leap second); `T` and `Z` in either case.
// Digits as [0-9]: other regex engines (the API document's readers) take \\d for any Unicode digit.
const INSTANT = '[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])';
const OPEN_END = `(?:${INSTANT}|\\.\\.|)`;

export const processListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { limit, cursor, f: format },
} as const;

export const jobListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { type: 'array', minItems: 1, items: { type: 'string', enum: ['process'] }, description: 'Job types (only "process").' },
    // An id holds no comma: the comma separates them, percent-encoded or not (the query is decoded first).
    processID: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^,]+$' }, description: 'Only jobs of these processes.' },
    status: { type: 'array', minItems: 1, items: jobStatusSchema, description: 'Only jobs with one of these statuses.' },
    datetime: {
      type: 'string',
      pattern: `^(?:${INSTANT}|${OPEN_END}/${OPEN_END})$`,
      description: 'Creation time: an RFC 3339 date-time such as 2024-05-01T12:00:00Z, or an interval a/b whose open end is ".." or empty; an interval must not end before it starts.',
    },
    minDuration: { type: 'integer', minimum: 0, description: 'Only jobs that ran at least this many seconds (not more than maxDuration).' },
    maxDuration: { type: 'integer', minimum: 0, description: 'Only jobs that ran at most this many seconds (not less than minDuration).' },
    limit,
    cursor,
    f: format,
  },
} as const;

export const jobLogsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    container: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', description: 'The container or init container of the job whose log is wanted, a DNS label (default: main).' },
    follow: { type: 'boolean', default: false, description: 'Keep the response open and stream new lines while the container runs.' },
    f: { type: 'string', enum: ['text', 'html'], description: 'Response format: text (the default), or html, a page for people (also chosen by Accept: text/html).' },
  },
} as const;

export const noQuerySchema = { type: 'object', additionalProperties: false, properties: { f: format } } as const;

/** Endpoints that have no page: JSON is all they answer. */
export const jsonOnlyQuerySchema = { type: 'object', additionalProperties: false, properties: { f: { type: 'string', enum: ['json'], description: 'Response format (JSON only).' } } } as const;

export type ProcessListQuery = FromSchema<typeof processListQuerySchema>;
export type JobListQuery = FromSchema<typeof jobListQuerySchema>;
export type JobLogsQuery = FromSchema<typeof jobLogsQuerySchema>;

/**
 * Array parameters take repeated values and comma-separated lists alike (OpenAPI form style). An empty
 * element (`status=`, `processID=a,`) is kept, so the schema refuses it rather than the filter vanishing.
 */
function arrayParameters(schema: { properties: object }): string[] {
  return Object.entries(schema.properties).filter(([, s]) => (s as { type?: string }).type === 'array').map(([name]) => name);
}

/**
 * Builds a parser for one endpoint's query string: unknown parameters and bad values are 400s that
 * name the parameter; defaults are filled in.
 */
export function queryParser<T>(ajv: Ajv, schema: { properties: object }): (query: unknown) => T {
  const validate: ValidateFunction = ajv.compile(schema);
  const arrays = arrayParameters(schema);
  // ajv's coercion would read ' 5', '5.0', '1e3' and '0x10' as integers; a query integer is its digits.
  const integers = Object.entries(schema.properties).filter(([, s]) => (s as { type?: string }).type === 'integer').map(([name]) => name);
  const known = Object.keys(schema.properties);
  return (query) => {
    const copy: Record<string, unknown> = { ...(query as Record<string, unknown>) };
    const unknown = Object.keys(copy).filter((name) => !known.includes(name));
    if (unknown.length > 0) {
      throw new InvalidParameter(`Unknown query parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}; this endpoint takes ${known.length ? known.join(', ') : 'none'}.`);
    }
    for (const name of arrays) {
      const value = copy[name];
      if (value !== undefined) copy[name] = [value].flat().flatMap((v) => String(v).split(','));
    }
    for (const [name, value] of Object.entries(copy)) {
      if (!arrays.includes(name) && Array.isArray(value)) {
        throw new InvalidParameter(`Query parameter '${name}' is given ${value.length} times; give it once.`);
      }
    }
    for (const name of integers) {
      const value = copy[name];
      if (typeof value === 'string' && !/^-?[0-9]+$/.test(value)) {
        throw new InvalidParameter(`Query parameter '${name}' must be an integer written in decimal digits, not '${shortName(value)}'.`);
      }
    }
    if (!validate(copy)) {
      // A pattern is for machines; people get the parameter's description instead.
      for (const error of validate.errors ?? []) {
        const [, name = ''] = error.instancePath.split('/');
        const description = (schema.properties as Record<string, { description?: string }>)[name]?.description;
        if (error.keyword === 'pattern' && description) error.message = `is not of the form it takes: ${description}`;
      }
      throw new InvalidParameter(`Invalid query: ${describeErrors(validate.errors).map((line) => line.replace(/^\//, "parameter '").replace(/: /, "': ")).join('; ')}`);
    }
    return copy as T;
  };
}

/** The `datetime` parameter as an inclusive range of epoch milliseconds. */
export function parseDatetime(value: string): { from?: number; to?: number } {
  const parts = value.split('/');
  if (parts.length > 2) throw new InvalidParameter(`Query parameter 'datetime' has more than one '/': '${value}'.`);
  const instant = (text: string, name: string): number | undefined => {
    if (parts.length === 2 && (text === '..' || text === '')) return undefined;
    const ms = RFC3339.test(text) ? Date.parse(text) : NaN;
    if (Number.isNaN(ms)) {
      throw new InvalidParameter(`Query parameter 'datetime': ${name} '${text}' is not an RFC 3339 date-time such as 2024-05-01T12:00:00Z${parts.length === 2 ? ' or ".."' : ''}.`);
    }
    return ms;
  };
  if (parts.length === 1) {
    const at = instant(parts[0]!, 'the value');
    return { from: at, to: at } as { from: number; to: number };
  }
  const from = instant(parts[0]!, 'the start');
  const to = instant(parts[1]!, 'the end');
  if (from !== undefined && to !== undefined && from > to) {
    throw new InvalidParameter(`Query parameter 'datetime': the interval ends before it starts ('${value}').`);
  }
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
