import type { Process } from './process.js';
import { echoProcess } from '../../processes/echo.js';
import { helloWorldProcess } from '../../processes/hello-world.js';
import { wordFrequenciesProcess } from '../../processes/word-frequencies.js';

/** A kind of process that server-config.yaml can declare under `processor: {name: ...}`. */
export interface ProcessorType {
  name: string;
  /** JSON Schema of the whole `processor:` block, `name` included. */
  optionsSchema: object;
  create(processId: string, options: Record<string, unknown>, context: { configDir: string }): Process;
}

const noOptions = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string' } },
} as const;

export const localProcessorTypes: ProcessorType[] = [
  { name: 'Echo', optionsSchema: noOptions, create: (id) => echoProcess(id) },
  { name: 'HelloWorld', optionsSchema: noOptions, create: (id) => helloWorldProcess(id) },
  { name: 'WordFrequencies', optionsSchema: noOptions, create: (id) => wordFrequenciesProcess(id) },
];

export function findProcessorType(types: ProcessorType[], name: string): ProcessorType | undefined {
  // pygeoapi configurations name processors by dotted class path; the last segment is the type.
  const short = name.split('.').pop() ?? name;
  return types.find((type) => type.name === short);
}
