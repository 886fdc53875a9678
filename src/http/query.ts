import type { Ajv, ValidateFunction } from 'ajv';
import type { FromSchema } from 'json-schema-to-ts';
import { InvalidParameter } from '../errors.js';
import { jobStatusSchema } from '../ogc/schemas.js';
import { describeErrors } from '../validation/ajv.js';

const limit = { type: 'integer', minimum: 1, maximum: 10000, default: 10, description: 'The most items a page holds.' } as const;
const cursor = { type: 'string', description: 'Opaque position in the list, taken from a next or prev link.' } as const;
const format = { type: 'string', enum: ['json'], description: 'Response format (JSON only).' } as const;

export const processListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { limit, cursor, f: format },
} as const;

export const jobListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { type: 'array', items: { type: 'string', enum: ['process'] }, description: 'Job types (only "process").' },
    processID: { type: 'array', items: { type: 'string' }, description: 'Only jobs of these processes.' },
    status: { type: 'array', items: jobStatusSchema, description: 'Only jobs with one of these statuses.' },
    datetime: { type: 'string', description: 'Creation time: an RFC 3339 date-time, or an interval a/b where either end may be "..".' },
    minDuration: { type: 'integer', minimum: 0, description: 'Only jobs that ran at least this many seconds.' },
    maxDuration: { type: 'integer', minimum: 0, description: 'Only jobs that ran at most this many seconds.' },
    limit,
    cursor,
    f: format,
  },
} as const;

export const jobLogsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    container: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', description: 'Whose log: a container or init container of the job (default: main).' },
    follow: { type: 'boolean', default: false, description: 'Keep the response open and stream new lines while the container runs.' },
  },
} as const;

export const noQuerySchema = { type: 'object', additionalProperties: false, properties: { f: format } } as const;

export type ProcessListQuery = FromSchema<typeof processListQuerySchema>;
export type JobListQuery = FromSchema<typeof jobListQuerySchema>;
export type JobLogsQuery = FromSchema<typeof jobLogsQuerySchema>;

/** Array parameters take repeated values and comma-separated lists alike (OpenAPI form style). */
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
  const known = Object.keys(schema.properties);
  return (query) => {
    const copy: Record<string, unknown> = { ...(query as Record<string, unknown>) };
    const unknown = Object.keys(copy).filter((name) => !known.includes(name));
    if (unknown.length > 0) {
      throw new InvalidParameter(`Unknown query parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}; this endpoint takes ${known.join(', ')}.`);
    }
    for (const name of arrays) {
      const value = copy[name];
      if (value !== undefined) copy[name] = [value].flat().flatMap((v) => String(v).split(',')).filter((v) => v !== '');
    }
    for (const [name, value] of Object.entries(copy)) {
      if (!arrays.includes(name) && Array.isArray(value)) {
        throw new InvalidParameter(`Query parameter '${name}' is given ${value.length} times; give it once.`);
      }
    }
    if (!validate(copy)) {
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
