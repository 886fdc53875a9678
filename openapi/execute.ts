// The execute operation of one process, as the server takes it: each input in the forms the standard
// allows and this server accepts (a value, a qualified value, a link for file inputs), the outputs and
// transmission modes it offers, what it answers, and the callbacks it makes to a subscriber.
import type { OpenAPIV3 } from 'openapi-types';
import type { ServerConfig } from '../src/config/load.js';
import type { FileInputSpec } from '../src/job-data/file-inputs.js';
import { mediaTypeOf } from '../src/jobs/manager.js';
import { isImageProcess } from '../src/kubernetes/generic-image.js';
import { executeRequestSchema, formatSchema, type InputDescription } from '../src/ogc/schemas.js';
import type { Process } from '../src/processes/process.js';
import { BASE64_PATTERN, mediaTypePattern, urlPattern } from './patterns.js';
import { noQuerySchema } from '../src/http/query.js';
import { errorResponses, json, queryParameters, ref } from './parts.js';

/** A JSON Schema as OpenAPI 3.0 takes it, built loosely here and typed where it enters the document. */
type Schema = Record<string, unknown>;
const typed = (schema: Schema) => schema as OpenAPIV3.SchemaObject;
import { exampleOf, toOpenApiSchema } from './schema-conversion.js';

/** POST /processes/{id}/execution for one process. */
export function executeOperation(process: Process, config: ServerConfig): OpenAPIV3.OperationObject {
  const { id, title, description, jobControlOptions, outputTransmission } = process.description;
  const byReference = outputTransmission.includes('reference');
  return {
    summary: `Execute ${title}`,
    ...(description ? { description } : {}),
    tags: ['Processes'],
    operationId: `execute_${id.replace(/[^A-Za-z0-9_]/g, '_')}`,
    parameters: [
      ...queryParameters(noQuerySchema),
      {
        name: 'Prefer',
        in: 'header',
        required: false,
        description: '`respond-async` asks for asynchronous execution; `wait=N` bounds a synchronous one (RFC 7240). Preferences the server does not understand are ignored.',
        schema: { type: 'string' },
      },
    ],
    requestBody: { required: true, content: json(typed(executeRequestOf(process, config))) },
    responses: {
      ...(jobControlOptions.includes('sync-execute') ? { '200': syncResults(process) } : {}),
      ...(jobControlOptions.includes('async-execute') ? { '201': created } : {}),
      '204': rawByReference,
      ...errorResponses({
        '400': 'Invalid request: the body is not JSON, does not follow the execute schema, or names unknown or invalid inputs or outputs; the detail (and `invalidInputs`) say what. No job was created.',
        ...(process.requiresToken ? { '401': 'The process is protected: the input `token` is missing or is not this server’s API token. No job was created.' } : {}),
        '404': 'A synchronous job was dismissed (and removed) before its results were sent.',
        '413': `The request body${process.fileInputs ? ', or a file input,' : ''} is larger than the server accepts${isImageProcess(process) ? ', or the inputs are larger than a Kubernetes Job carries' : ''}.`,
        '415': 'The request body is not application/json.',
        ...(byReference ? { '422': 'A synchronous document response would carry a file output by value that is larger than the server inlines; the detail links to it.' } : {}),
        '500': 'A synchronous job failed (the detail says why), or the server failed.',
        ...(isImageProcess(process) || process.fileInputs ? { '502': 'The Kubernetes API or the job files store refused or could not be reached: the job was not created.' } : {}),
        ...(process.requiresToken ? { '503': 'The process is protected and this server has no API token configured, so it does not run it.' } : {}),
        ...(jobControlOptions.includes('async-execute') ? {} : { '504': 'A synchronous execution outlived its wait bound; the job goes on, and the detail names it.' }),
      }),
    },
    callbacks: callbacksOf(process),
  };
}

const created: OpenAPIV3.ResponseObject = {
  description: 'Asynchronous execution: the job was created; follow the Location header.',
  headers: {
    Location: { required: true, schema: { type: 'string' }, description: 'URL of the job status.' },
    'Preference-Applied': { schema: { type: 'string' }, description: 'The preferences the server honoured (RFC 7240).' },
  },
  content: json(ref('statusInfo')),
};

export const rawByReference: OpenAPIV3.ResponseObject = {
  description: 'Raw results whose outputs were all asked by reference, or none: no body, a Link header for each output (`rel="item"`, its media type as `type`, the output id as `title`).',
  headers: { Link: { schema: { type: 'string' }, description: 'One link per output.' } },
};

/** The body of an execute request to this process. */
function executeRequestOf(process: Process, config: ServerConfig): Schema {
  const { inputs, outputs, outputTransmission } = process.description;
  const required = Object.entries(inputs).filter(([, input]) => (input.minOccurs ?? 1) > 0).map(([id]) => id);
  const shown = Object.entries(inputs).filter(([id]) => required.includes(id) || Object.keys(inputs).length <= 3);
  const { outputs: outputsSchema, response, subscriber } = executeRequestSchema.properties;
  const outputRequest = outputsSchema.additionalProperties;
  const uri = { type: 'string', format: 'uri', pattern: urlPattern(config.manager.notifications.policy) };
  return {
    type: 'object',
    additionalProperties: executeRequestSchema.additionalProperties,
    ...(required.length ? { required: ['inputs'] } : {}),
    properties: {
      inputs: {
        type: 'object',
        additionalProperties: false,
        ...(required.length ? { required } : {}),
        properties: Object.fromEntries(Object.entries(inputs).map(([id, input]) => [id, inputSchema(process, id, input, config)])),
      },
      outputs: {
        type: 'object',
        additionalProperties: false,
        properties: Object.fromEntries(
          Object.entries(outputs).map(([id, output]) => {
            // The output request of the standard, narrowed to what this output is offered in.
            const format = { ...formatSchema, properties: { ...formatSchema.properties, mediaType: { type: 'string', enum: [mediaTypeOf(output)] } } };
            const transmissionMode = { ...outputRequest.properties.transmissionMode, enum: outputTransmission };
            return [id, toOpenApiSchema({ ...outputRequest, properties: { format, transmissionMode } })];
          }),
        ),
      },
      response: toOpenApiSchema(response),
      subscriber: toOpenApiSchema({
        ...subscriber,
        description: `${subscriber.description} Only http(s) URLs without credentials${config.manager.notifications.policy.allowedHosts.length ? ' to the hosts this server calls back' : ''}; ${config.manager.notifications.policy.allowPrivateNetworks ? 'link-local and metadata addresses are refused' : 'loopback, private, link-local and metadata addresses are refused'}.`,
        properties: Object.fromEntries(Object.keys(subscriber.properties).map((member) => [member, uri])),
      }),
    },
    example: { inputs: Object.fromEntries(shown.map(([id, input]) => [id, exampleOf(input.schema)])), response: 'document' },
  };
}

/** One input: its occurrences, each a value or a qualified value, or for a file input text, a file value or a link. */
function inputSchema(process: Process, id: string, input: InputDescription, config: ServerConfig): Schema {
  const file = process.fileInputs?.[id];
  if (file) return fileInputSchema(file, input, config);
  const occurrence = valueOrQualified(input);
  const described = (schema: Schema) => ({ ...schema, ...(input.description ? { description: input.description } : {}) });
  const min = input.minOccurs ?? 1;
  const max = input.maxOccurs === 'unbounded' ? undefined : (input.maxOccurs ?? 1);
  if (max === 1) return described(occurrence);
  // Several occurrences come as an array; with at most one needed, a single one may come alone.
  const list = { type: 'array', items: occurrence, minItems: min, ...(max !== undefined ? { maxItems: max } : {}) };
  return described(min <= 1 ? { anyOf: [{ allOf: [occurrence, { not: { type: 'array' } }] }, list] } : list);
}

/**
 * A value, or the standard's qualifiedInputValue: the value with its format, whose media type is the
 * input's own when its schema names one. An object with a `value` and a format member is always taken
 * as qualified (src/processes/inputs.ts); without a format member, either reading may fit.
 */
function valueOrQualified(input: InputDescription): Schema {
  const value = toOpenApiSchema(input.schema);
  const format = toOpenApiSchema(formatSchema).properties as Record<string, Schema>;
  const declared = (input.schema as { contentMediaType?: unknown }).contentMediaType;
  const qualifiers = Object.keys(format).map((member) => ({ required: [member] }));
  return {
    anyOf: [
      { allOf: [value, { not: { type: 'object', required: ['value'], anyOf: qualifiers } }] },
      {
        type: 'object',
        required: ['value'],
        properties: { value, ...format, ...(typeof declared === 'string' ? { mediaType: { type: 'string', pattern: mediaTypePattern([declared.toLowerCase()]) } } : {}) },
      },
    ],
  };
}

/** A file input (stored before the job exists): its text, its content as a qualified value, or a link to it. */
function fileInputSchema(spec: FileInputSpec, input: InputDescription, config: ServerConfig): Schema {
  const mediaType = { type: 'string', pattern: mediaTypePattern(spec.mediaTypes) };
  const notALink = { not: { type: 'string' } }; // an object with a string href is taken as a link
  const content = (value: Schema, encodings: string[]) => ({
    type: 'object',
    required: ['value', ...(encodings.includes('base64') ? ['encoding'] : [])],
    properties: { value, mediaType, encoding: { type: 'string', enum: encodings }, href: notALink },
  });
  const href = urlPattern(config.manager.files.href);
  const text = spec.mediaTypes.some((type) => type.startsWith('text/'));
  return {
    ...(input.description ? { description: input.description } : {}),
    anyOf: [
      ...(text ? [{ type: 'string' }] : []),
      content({ type: 'string' }, ['utf-8', 'utf8']),
      content({ type: 'string', pattern: BASE64_PATTERN }, ['base64']),
      {
        type: 'object',
        required: ['href'],
        properties: {
          href: config.manager.files.bucket
            ? { anyOf: [{ type: 'string', pattern: href }, { type: 'string', pattern: '^s3://[^/]+/.+$' }] }
            : { type: 'string', pattern: href },
          type: mediaType,
        },
      },
    ],
  };
}

/** Synchronous results: the results document, one raw output in its media type, or several as multipart/related. */
function syncResults(process: Process): OpenAPIV3.ResponseObject {
  return {
    description: 'Synchronous execution: the results, raw or as a document.',
    headers: {
      Link: { required: true, schema: { type: 'string' }, description: 'The job status, `rel="monitor"`.' },
      'Preference-Applied': { schema: { type: 'string' }, description: 'The preferences the server honoured (RFC 7240).' },
    },
    content: resultsContent([process]),
  };
}

/** The bodies results may have, for jobs of these processes. */
export function resultsContent(processes: Process[]): Record<string, OpenAPIV3.MediaTypeObject> {
  const outputs = processes.flatMap((process) => Object.values(process.description.outputs));
  const rawJson = outputs.filter((output) => mediaTypeOf(output) === 'application/json').map((output) => toOpenApiSchema(output.schema));
  const rawOther = [...new Set(outputs.map(mediaTypeOf).filter((type) => type !== 'application/json'))];
  return {
    'application/json': { schema: typed({ anyOf: [...processes.map((process) => ref(resultsSchemaName(process))), ...rawJson] }) },
    ...Object.fromEntries(rawOther.map((type) => [type, { schema: { type: 'string' } }])),
    ...(processes.some((process) => Object.keys(process.description.outputs).length > 1) ? { 'multipart/related': { schema: { type: 'string', format: 'binary' } } } : {}),
  };
}

export function resultsSchemaName(process: Process): string {
  return `results_${process.description.id.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/**
 * The results document of one process (results.yaml): each output a plain value, a qualified value
 * (objects, and files by value), or a link (files by reference).
 */
export function resultsSchemaOf(process: Process): OpenAPIV3.SchemaObject {
  const files = process.description.outputTransmission.includes('reference');
  const qualified = { type: 'object', required: ['value', 'mediaType'], properties: { value: {}, mediaType: { type: 'string' }, encoding: { type: 'string' } } };
  return typed({
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(
      Object.entries(process.description.outputs).map(([id, output]) => [id, { anyOf: [toOpenApiSchema(output.schema), qualified, ...(files ? [ref('link')] : [])] }]),
    ),
  });
}

/** Part 1 callbacks: each URI of the execute request's subscriber gets a POST, with the same Idempotency-Key on every attempt. */
function callbacksOf(process: Process): Record<string, OpenAPIV3.CallbackObject> {
  const callback = (member: string, summary: string, body: OpenAPIV3.RequestBodyObject['content']): OpenAPIV3.CallbackObject => ({
    [`{$request.body#/subscriber/${member}}`]: {
      post: {
        summary,
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: true,
            description: '`<jobID>:<kind>`, the same on every attempt: a receiver drops repeats by it (delivery is at least once).',
            schema: { type: 'string' },
          },
        ],
        requestBody: { required: true, content: body },
        responses: {
          '2XX': { description: 'Received. Any other answer is a failed delivery: 5xx, 408 and 429 are tried again with backoff, others are given up.' },
        },
      },
    },
  });
  return {
    jobInProgress: callback('inProgressUri', 'The job runs: its status.', json(ref('statusInfo'))),
    jobSuccess: callback('successUri', 'The job succeeded: its results document (files as links).', json(ref(resultsSchemaName(process)))),
    jobFailed: callback('failedUri', 'The job failed: the exception.', json(ref('exception'))),
  };
}

