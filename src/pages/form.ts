// The run form of a process: its fields, made from the input schemas, and the execute request a
// submitted form stands for. The request goes through the JobManager like any other, so a form gets
// the API's own validation messages.
import type { Request } from 'express';
import busboy from 'busboy';
import { InvalidInputs, InvalidRequest, PayloadTooLarge, UnsupportedMediaType, type InputProblem } from '../errors.js';
import { TOKEN_INPUT } from '../jobs/manager.js';
import type { InputDescription } from '../ogc/schemas.js';
import type { Process } from '../processes/process.js';

/** How a field is shown and how its text becomes a value. */
export type FieldKind = 'text' | 'textarea' | 'number' | 'boolean' | 'enum' | 'json' | 'file' | 'password';

export interface FormField {
  id: string;
  /** The form field's name: `inputs.<id>`, so no input id can clash with the form's own fields. */
  name: string;
  title: string;
  description: string;
  kind: FieldKind;
  required: boolean;
  /** What the user typed last time (never for the token). */
  value: string;
  /** For enums: each value as JSON text, and whether it was the one chosen. */
  options: Array<{ value: string; label: string; selected: boolean }>;
  /** A hint: the schema's type, or an example of the JSON the field takes. */
  hint: string;
  step?: string;
  accept?: string;
}

export interface SubmittedForm {
  /** The texts typed, input id → text. */
  texts: Record<string, string>;
  files: Record<string, { bytes: Buffer; mediaType: string }>;
  respondAsync: boolean;
}

const INPUT_PREFIX = 'inputs.';
const MAX_FIELDS = 500;

type Schema = Record<string, unknown>;

function kindOf(id: string, input: InputDescription, process: Process): FieldKind {
  if (id === TOKEN_INPUT && process.requiresToken) return 'password';
  if (process.fileInputs && Object.hasOwn(process.fileInputs, id)) return 'file';
  const maxOccurs = input.maxOccurs === 'unbounded' ? Infinity : (input.maxOccurs ?? 1);
  const schema = input.schema as Schema;
  if (maxOccurs > 1) return 'json';
  if (Array.isArray(schema.enum)) return 'enum';
  switch (schema.type) {
    case 'string':
      return typeof schema.contentMediaType === 'string' || typeof schema.contentEncoding === 'string' ? 'textarea' : 'text';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'json';
  }
}

/** A short example of the JSON a field takes, from its schema. */
function jsonHint(schema: Schema, many: boolean): string {
  const example = (s: Schema): string => {
    if (Array.isArray(s.allOf) && (s.allOf[0] as Schema | undefined)?.format === 'ogc-bbox') return '{"bbox": [5.9, 45.8, 10.5, 47.8], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}';
    if (Array.isArray(s.oneOf) || Array.isArray(s.anyOf)) return ((s.oneOf ?? s.anyOf) as Schema[]).map((one) => String(one.type ?? 'JSON')).join(' or ');
    switch (s.type) {
      case 'array':
        return '[1, 2, 3]';
      case 'object':
        return '{"key": "value"}';
      default:
        return 'JSON';
    }
  };
  return many ? `a JSON array of values, each ${example(schema)}` : example(schema);
}

/** The fields of a process's run form, filled with what was typed before (never the token). */
export function formFields(process: Process, texts: Record<string, string> = {}): FormField[] {
  return Object.entries(process.description.inputs).map(([id, input]) => {
    const kind = kindOf(id, input, process);
    const schema = input.schema as Schema;
    const value = kind === 'password' || kind === 'file' ? '' : (texts[id] ?? '');
    const many = (input.maxOccurs === 'unbounded' ? Infinity : (input.maxOccurs ?? 1)) > 1;
    const field: FormField = {
      id,
      name: `${INPUT_PREFIX}${id}`,
      title: input.title ?? id,
      description: input.description ?? '',
      kind,
      required: (input.minOccurs ?? 1) > 0,
      value,
      options: Array.isArray(schema.enum)
        ? schema.enum.map((option) => ({ value: JSON.stringify(option), label: typeof option === 'string' ? option : JSON.stringify(option), selected: JSON.stringify(option) === value }))
        : [],
      hint: kind === 'json' ? jsonHint(schema, many) : typeof schema.type === 'string' ? schema.type : '',
    };
    if (kind === 'number') field.step = schema.type === 'integer' ? '1' : 'any';
    if (kind === 'file') field.accept = process.fileInputs![id]!.mediaTypes.join(',');
    return field;
  });
}

/** Reads a submitted form: multipart/form-data (files) or application/x-www-form-urlencoded, bounded. */
export async function readForm(req: Request, process: Process, maxBodyBytes: number): Promise<SubmittedForm> {
  const type = req.headers['content-type'] ?? '';
  if (!/^(multipart\/form-data|application\/x-www-form-urlencoded)\b/i.test(type)) {
    throw new UnsupportedMediaType(`A run form is sent as multipart/form-data or application/x-www-form-urlencoded, not '${type.slice(0, 100)}'.`);
  }
  const fileSpecs = process.fileInputs ?? {};
  const maxFileBytes = Math.max(0, ...Object.values(fileSpecs).map((spec) => spec.maxBytes));
  const texts: Record<string, string> = {};
  const files: Record<string, { bytes: Buffer; mediaType: string }> = {};
  let mode: string | undefined;
  const unknown: string[] = [];

  await new Promise<void>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fields: MAX_FIELDS, fieldSize: maxBodyBytes, files: Object.keys(fileSpecs).length, fileSize: maxFileBytes } });
    } catch (error) {
      reject(new InvalidRequest(`The form cannot be read: ${(error as Error).message}.`));
      return;
    }
    let textBytes = 0;
    const fail = (error: Error) => {
      req.unpipe(parser);
      req.resume();
      reject(error);
    };
    parser.on('field', (name, value, info) => {
      textBytes += value.length;
      if (info.valueTruncated || textBytes > maxBodyBytes) return fail(new PayloadTooLarge(`The form's fields hold more than ${maxBodyBytes} bytes (server.limits.max_body_bytes).`));
      if (name === 'mode') mode = value;
      else if (name.startsWith(INPUT_PREFIX)) texts[name.slice(INPUT_PREFIX.length)] = value;
      else unknown.push(name.slice(0, 80));
    });
    parser.on('file', (name, stream, info) => {
      const id = name.slice(INPUT_PREFIX.length);
      if (!name.startsWith(INPUT_PREFIX) || !Object.hasOwn(fileSpecs, id)) {
        stream.resume();
        unknown.push(name.slice(0, 80));
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => fail(new PayloadTooLarge(`input '${id}': the file is larger than the ${fileSpecs[id]!.maxBytes} bytes this input takes`)));
      stream.on('end', () => {
        // A file field left empty is sent as a part with no name and no bytes: the input is not given.
        if (info.filename || chunks.length > 0) files[id] = { bytes: Buffer.concat(chunks), mediaType: info.mimeType };
      });
    });
    parser.on('filesLimit', () => fail(new InvalidRequest('The form holds more files than the process takes.')));
    parser.on('fieldsLimit', () => fail(new InvalidRequest(`The form holds more than ${MAX_FIELDS} fields.`)));
    parser.on('error', (error: Error) => fail(new InvalidRequest(`The form cannot be read: ${error.message}.`)));
    parser.on('close', () => resolve());
    req.pipe(parser);
  });

  if (unknown.length > 0) throw new InvalidRequest(`The form has fields it does not offer: ${unknown.map((name) => `'${name}'`).join(', ')}.`);
  if (mode !== undefined && mode !== 'sync' && mode !== 'async') throw new InvalidRequest(`The form's field 'mode' is 'sync' or 'async', not '${mode.slice(0, 80)}'.`);
  return { texts, files, respondAsync: mode === 'async' };
}

/**
 * The execute request a submitted form stands for. Each text becomes a value by its field's kind; a
 * text that is not what its kind takes is passed on as it is, for the input validator to name.
 * Uploaded files become base64 qualified values.
 */
export function executeRequestOf(process: Process, { texts, files }: SubmittedForm): { inputs: Record<string, unknown>; response: 'document' } {
  const fields = new Map(formFields(process).map((field) => [field.id, field]));
  const inputs: Record<string, unknown> = {};
  const problems: InputProblem[] = [];
  for (const [id, text] of Object.entries(texts)) {
    if (text === '') continue; // a field left empty: the input is not given
    const field = fields.get(id);
    const value = field ? valueOf(field.kind, text) : text; // an input the process lacks: the validator names it
    if (value instanceof Error) problems.push({ input: id, problem: value.message });
    else inputs[id] = value;
  }
  for (const [id, file] of Object.entries(files)) inputs[id] = { value: file.bytes.toString('base64'), mediaType: file.mediaType, encoding: 'base64' };
  if (problems.length > 0) throw new InvalidInputs(problems);
  return { inputs, response: 'document' };
}

const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

function valueOf(kind: FieldKind, text: string): unknown {
  switch (kind) {
    case 'number':
      return NUMBER.test(text.trim()) ? Number(text.trim()) : text;
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'enum':
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        return kind === 'enum' ? text : new Error(`is not valid JSON: ${(error as Error).message}`);
      }
    default:
      return text;
  }
}
