import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalProcess } from '../src/processes/process.js';

type Schema = Record<string, unknown>;

/**
 * The standard's bounding box (bbox.yaml), written inline: the OGC test suite follows no `$ref`, and
 * recognises a bounding box only by `{"format": "ogc-bbox"}` as the first member of `allOf`.
 */
const boundingBox: Schema = {
  allOf: [
    { format: 'ogc-bbox' },
    {
      type: 'object',
      required: ['bbox', 'crs'],
      properties: {
        bbox: { type: 'array', items: { type: 'number' }, oneOf: [{ minItems: 4, maxItems: 4 }, { minItems: 6, maxItems: 6 }] },
        crs: { type: 'string', enum: ['http://www.opengis.net/def/crs/OGC/1.3/CRS84', 'http://www.opengis.net/def/crs/OGC/0/CRS84h'] },
      },
    },
  ],
};

/**
 * Input id → schema. The OGC test suite (ETS 1.3) depends on the order: its one-output tests send the
 * first input, and its array test takes the first array input and fills it by the type of its items.
 */
const echoed: Record<string, Schema> = {
  string_input: { type: 'string' },
  number_input: { type: 'number' },
  boolean_input: { type: 'boolean' },
  object_input: { type: 'object' },
  integer_array_input: { type: 'array', items: { type: 'integer' } },
  array_input: { type: 'array' },
  bbox_input: boundingBox,
  csv_input: { type: 'string', contentMediaType: 'text/csv' },
  string_or_number_input: { oneOf: [{ type: 'string' }, { type: 'number' }] },
};

/** Returns each input as the output of the same id; `pause` holds the job running for that many seconds. */
export function echoProcess(id = 'echo'): LocalProcess {
  const inputs = Object.fromEntries(
    Object.entries(echoed).map(([name, schema]) => [
      name,
      { title: name, description: `Returned as output '${name}'.`, minOccurs: 0, maxOccurs: 1, schema },
    ]),
  );
  const outputs = Object.fromEntries(
    Object.entries(echoed).map(([name, schema]) => [
      name,
      { title: name, description: `The value of input '${name}'.`, schema: { ...schema, contentMediaType: mediaTypeOf(schema) } },
    ]),
  );
  return {
    backend: 'local',
    description: {
      id,
      version: '1.0.0',
      title: 'Echo',
      description: 'Returns every input it is given as the output of the same id.',
      keywords: ['echo', 'test'],
      jobControlOptions: ['sync-execute', 'async-execute', 'dismiss'],
      outputTransmission: ['value'],
      inputs: {
        ...inputs,
        pause: {
          title: 'pause',
          description: 'Seconds to wait before answering (to try asynchronous execution and dismiss).',
          minOccurs: 0,
          maxOccurs: 1,
          schema: { type: 'integer', minimum: 0, maximum: 3600 },
        },
      },
      outputs,
    },
    async run(given, { signal }) {
      const pause = typeof given.pause === 'number' ? given.pause : 0;
      if (pause > 0) await sleep(pause * 1000, undefined, { signal });
      return Object.fromEntries(Object.entries(given).filter(([name]) => name in echoed));
    },
  };
}

/** The media type of an output in a raw response: the one its input declares, text for a string, else JSON. */
function mediaTypeOf(schema: Schema): string {
  if (typeof schema.contentMediaType === 'string') return schema.contentMediaType;
  return schema.type === 'string' ? 'text/plain' : 'application/json';
}
