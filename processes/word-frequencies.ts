import { text as readText } from 'node:stream/consumers';
import type { LocalProcess } from '../src/processes/process.js';

const MAX_TEXT_BYTES = 10 * 1024 * 1024;

/**
 * Counts the words of a text and returns the counts as a CSV file (most frequent first), with a
 * small summary as a value: a process whose main output is a file, to try outputs by reference.
 */
export function wordFrequenciesProcess(id = 'word-frequencies'): LocalProcess {
  return {
    backend: 'local',
    description: {
      id,
      version: '1.0.0',
      title: 'Word frequencies',
      description: 'Counts how often each word occurs in a text. The counts come as a CSV file (by reference, by value or raw); the summary as a value.',
      keywords: ['text', 'file output', 'example'],
      jobControlOptions: ['sync-execute', 'async-execute', 'dismiss'],
      outputTransmission: ['value', 'reference'],
      inputs: {
        text: {
          title: 'Text',
          description: `The text to count the words of (a text/plain file of at most ${MAX_TEXT_BYTES} bytes): the text itself, {"value": ..., "mediaType": "text/plain"} (plain or "encoding": "base64"), or {"href": "https://..."}.`,
          minOccurs: 1,
          maxOccurs: 1,
          schema: { type: 'string', contentMediaType: 'text/plain' },
        },
      },
      outputs: {
        frequencies: {
          title: 'Word frequencies',
          description: 'A CSV file with the columns word and count, most frequent first.',
          schema: { type: 'string', contentMediaType: 'text/csv' },
        },
        summary: {
          title: 'Summary',
          description: 'How many words the text has, and how many different ones.',
          schema: { type: 'object', contentMediaType: 'application/json', properties: { words: { type: 'integer' }, distinct: { type: 'integer' } } },
        },
      },
    },
    fileInputs: { text: { mediaTypes: ['text/plain'], maxBytes: MAX_TEXT_BYTES, required: true } },
    async run(_inputs, { openInputFile, writeOutputFile }) {
      const text = await readText(await openInputFile('text'));
      const counts = new Map<string, number>();
      for (const word of text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []) counts.set(word, (counts.get(word) ?? 0) + 1);
      const rows = [...counts].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
      await writeOutputFile('frequencies', `word,count\n${rows.map(([word, count]) => `${word},${count}\n`).join('')}`);
      return { summary: { words: rows.reduce((sum, [, count]) => sum + count, 0), distinct: rows.length } };
    },
  };
}
