import type { LocalProcess } from '../src/processes/process.js';

/** Greets `name`, adding `message` when given. */
export function helloWorldProcess(id = 'hello-world'): LocalProcess {
  return {
    backend: 'local',
    description: {
      id,
      version: '1.0.0',
      title: 'Hello World',
      description: 'Says hello to the name it is given, with an optional message.',
      keywords: ['hello world', 'example'],
      jobControlOptions: ['sync-execute', 'async-execute', 'dismiss'],
      outputTransmission: ['value'],
      inputs: {
        name: {
          title: 'Name',
          description: 'Who to greet.',
          minOccurs: 1,
          maxOccurs: 1,
          schema: { type: 'string', minLength: 1 },
        },
        message: {
          title: 'Message',
          description: 'Added after the greeting.',
          minOccurs: 0,
          maxOccurs: 1,
          schema: { type: 'string' },
        },
      },
      outputs: {
        greeting: {
          title: 'Greeting',
          schema: { type: 'string', contentMediaType: 'text/plain' },
        },
      },
    },
    async run({ name, message }) {
      const greeting = `Hello ${String(name)}!` + (typeof message === 'string' && message ? ` ${message}` : '');
      return { greeting };
    },
  };
}
