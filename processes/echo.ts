import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalProcess } from '../src/processes/process.js';

const echoed = {
  string_input: { type: 'string' },
  number_input: { type: 'number' },
  boolean_input: { type: 'boolean' },
  object_input: { type: 'object' },
  array_input: { type: 'array' },
} as const;

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
      { title: name, description: `The value of input '${name}'.`, schema: { ...schema, contentMediaType: mediaTypeOf(schema.type) } },
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

function mediaTypeOf(type: string): string {
  return type === 'string' ? 'text/plain' : 'application/json';
}
