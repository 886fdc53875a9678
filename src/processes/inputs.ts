import type { Ajv, ValidateFunction } from 'ajv';
import { InvalidInputs, ProblemList, shortName, type InputProblem } from '../errors.js';
import { formatSchema, type InputDescription } from '../ogc/schemas.js';
import { messageOf, pathOf } from '../validation/ajv.js';
import type { ProcessDescription } from './process.js';

interface CompiledInput {
  description: InputDescription;
  validate: ValidateFunction;
  minOccurs: number;
  maxOccurs: number;
}

/**
 * Checks the inputs of an execute request against the process's declared inputs: no unknown ones,
 * every required one present, occurrences within bounds and each value valid under its schema.
 * Qualified values ({"value": ..., "mediaType": ...}) are unwrapped to their value, objects included.
 */
export class InputValidator {
  private readonly compiled = new Map<string, Map<string, CompiledInput>>();
  /** The members a qualified value has beside its value (mediaType, encoding, schema), as the standard types them. */
  private readonly validateFormat: ValidateFunction;

  constructor(private readonly ajv: Ajv) {
    this.validateFormat = ajv.compile(formatSchema);
  }

  /** Compiles the schemas of a process once, at start-up, so a bad schema fails early. */
  register(process: ProcessDescription): void {
    const inputs = new Map<string, CompiledInput>();
    for (const [id, description] of Object.entries(process.inputs)) {
      const maxOccurs = description.maxOccurs === 'unbounded' ? Infinity : (description.maxOccurs ?? 1);
      inputs.set(id, { description, validate: this.ajv.compile(description.schema), minOccurs: description.minOccurs ?? 1, maxOccurs });
    }
    this.compiled.set(process.id, inputs);
  }

  /** Checks the inputs; those named in `files` are file inputs, checked as they are stored (FileInputs). */
  validate(process: ProcessDescription, given: Record<string, unknown>, files: ReadonlySet<string> = new Set()): Record<string, unknown> {
    const inputs = this.compiled.get(process.id);
    if (!inputs) throw new Error(`process '${process.id}' was not registered with the input validator`);
    const problems = new ProblemList<InputProblem>();
    // Entries, then Object.fromEntries: an input declared as '__proto__' stays an own property.
    const accepted: Array<[string, unknown]> = [];

    const known = [...inputs.keys()];
    const unknown = `is not an input of process '${process.id}'${known.length ? ` (its inputs: ${known.join(', ')})` : ' (it takes no inputs)'}`;
    for (const id of Object.keys(given)) {
      if (!inputs.has(id)) problems.add({ input: shortName(id), problem: unknown });
    }
    for (const [id, input] of inputs) {
      if (files.has(id)) continue;
      // Own members only: a process may declare an input called 'constructor' that the client left out.
      const value = Object.hasOwn(given, id) ? given[id] : undefined;
      if (value === undefined) {
        if (input.minOccurs > 0) problems.add({ input: id, problem: 'is required' });
        continue;
      }
      const occurrences = input.maxOccurs > 1 && Array.isArray(value) ? value : [value];
      if (occurrences.length < input.minOccurs) {
        problems.add({ input: id, problem: `needs at least ${input.minOccurs} values, got ${occurrences.length}` });
        continue;
      }
      if (occurrences.length > input.maxOccurs) {
        problems.add({ input: id, problem: `accepts at most ${input.maxOccurs} value${input.maxOccurs === 1 ? '' : 's'}, got ${occurrences.length}` });
        continue;
      }
      const values = occurrences.map((occurrence, index) => {
        const where = occurrences.length > 1 || Array.isArray(value) && input.maxOccurs > 1 ? `${id}[${index}]` : id;
        return this.check(input, occurrence, where, problems);
      });
      accepted.push([id, input.maxOccurs > 1 && Array.isArray(value) ? values : values[0]]);
    }
    if (problems.total > 0) throw new InvalidInputs(problems);
    return Object.fromEntries(accepted);
  }

  /**
   * One value, checked against the input's schema. An object with its own `value` member is a
   * qualified value ({"value": ..., "mediaType": ...}, the form the standard asks for object values):
   * its value is what is checked and kept, so an object comes back wrapped once in results, not twice.
   * Without `mediaType`, `encoding` or `schema` beside it, an object whose value does not fit but which
   * fits itself is a plain object that happens to have a `value` member (clients, the OGC test suite
   * among them, send such objects bare).
   */
  private check(input: CompiledInput, occurrence: unknown, where: string, problems: ProblemList<InputProblem>): unknown {
    const object = isObject(occurrence) ? occurrence : undefined;
    const qualifiers = object !== undefined && ['mediaType', 'encoding', 'schema'].some((member) => Object.hasOwn(object, member));
    const qualified = object !== undefined && Object.hasOwn(object, 'value') && (qualifiers || input.validate(object.value) || !input.validate(object));
    const value = qualified ? object.value : occurrence;
    if (qualified && !this.validateFormat(object)) {
      for (const error of this.validateFormat.errors ?? []) problems.add({ input: where, problem: `is a qualified value whose ${pathOf(error).slice(1)} ${messageOf(error)}` });
      return undefined;
    }
    const declared = (input.description.schema as { contentMediaType?: unknown }).contentMediaType;
    const given = qualified && typeof object.mediaType === 'string' ? object.mediaType.split(';')[0]!.trim().toLowerCase() : undefined;
    if (typeof declared === 'string' && given !== undefined && given !== declared.toLowerCase()) {
      problems.add({ input: where, problem: `has media type ${shortName(given)}; this input takes ${declared}` });
      return undefined;
    }
    if (input.validate(value)) return value;
    if (object && !qualified && Object.hasOwn(object, 'href')) {
      problems.add({ input: where, problem: 'is a reference (href); this process takes values only' });
      return undefined;
    }
    for (const error of input.validate.errors ?? []) {
      const path = pathOf(error);
      problems.add({ input: where, problem: path ? `${shortName(path, 200)} ${messageOf(error)}` : messageOf(error) });
    }
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
