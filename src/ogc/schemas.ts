// The OGC API – Processes 1.0 shapes this server reads and writes, written once as JSON Schema
// (draft-07, the subset OpenAPI 3.0 understands). ajv validates with them, TypeScript types come
// from them (json-schema-to-ts) and the OpenAPI document embeds them.
import type { FromSchema } from 'json-schema-to-ts';

export const linkSchema = {
  type: 'object',
  required: ['href'],
  properties: {
    href: { type: 'string' },
    rel: { type: 'string' },
    type: { type: 'string' },
    hreflang: { type: 'string' },
    title: { type: 'string' },
  },
} as const;

export const jobStatusSchema = {
  type: 'string',
  enum: ['accepted', 'running', 'successful', 'failed', 'dismissed'],
} as const;

export const jobControlOptionSchema = {
  type: 'string',
  enum: ['sync-execute', 'async-execute', 'dismiss'],
} as const;

export const transmissionModeSchema = { type: 'string', enum: ['value', 'reference'] } as const;

export const formatSchema = {
  type: 'object',
  properties: {
    mediaType: { type: 'string' },
    encoding: { type: 'string' },
    schema: { oneOf: [{ type: 'string', format: 'uri' }, { type: 'object' }] },
  },
} as const;

/**
 * The body of POST /processes/{id}/execution (execute.yaml). Unknown members are refused: a typo such
 * as "respone" must not be ignored silently.
 */
export const executeRequestSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    inputs: {
      type: 'object',
      additionalProperties: {},
      description: 'Input id → value, qualified value ({value, mediaType}), link ({href}) or an array of those.',
    },
    outputs: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: {
          format: formatSchema,
          transmissionMode: { ...transmissionModeSchema, default: 'value' },
        },
      },
    },
    response: { type: 'string', enum: ['raw', 'document'], default: 'raw' },
    subscriber: {
      type: 'object',
      additionalProperties: false,
      description: 'URIs the server calls (POST) when the job runs, succeeds or fails.',
      properties: {
        successUri: { type: 'string', format: 'uri' },
        inProgressUri: { type: 'string', format: 'uri' },
        failedUri: { type: 'string', format: 'uri' },
      },
    },
  },
} as const;
export type ExecuteRequest = FromSchema<typeof executeRequestSchema>;

/** Description of one process input (inputDescription.yaml) as declared in the configuration. */
export const inputDescriptionSchema = {
  type: 'object',
  required: ['schema'],
  properties: {
    title: { type: 'string' },
    description: { type: 'string' },
    keywords: { type: 'array', items: { type: 'string' } },
    minOccurs: { type: 'integer', minimum: 0, default: 1 },
    maxOccurs: { oneOf: [{ type: 'integer', minimum: 1 }, { type: 'string', enum: ['unbounded'] }] },
    schema: { type: 'object' },
  },
} as const;
export type InputDescription = FromSchema<typeof inputDescriptionSchema>;

export const outputDescriptionSchema = {
  type: 'object',
  required: ['schema'],
  properties: {
    title: { type: 'string' },
    description: { type: 'string' },
    keywords: { type: 'array', items: { type: 'string' } },
    schema: { type: 'object' },
  },
} as const;
export type OutputDescription = FromSchema<typeof outputDescriptionSchema>;

export const statusInfoSchema = {
  type: 'object',
  required: ['jobID', 'status', 'type'],
  properties: {
    processID: { type: 'string' },
    type: { type: 'string', enum: ['process'] },
    jobID: { type: 'string' },
    status: jobStatusSchema,
    message: { type: 'string' },
    created: { type: 'string', format: 'date-time' },
    started: { type: 'string', format: 'date-time' },
    finished: { type: 'string', format: 'date-time' },
    updated: { type: 'string', format: 'date-time' },
    progress: { type: 'integer', minimum: 0, maximum: 100 },
    links: { type: 'array', items: linkSchema },
    origin: {
      type: 'object',
      description: 'Where the execute request came from when not over HTTP: a message of a queue (the queue intake), answered to its reply_to once the job has ended.',
      required: ['kind', 'queue', 'messageId'],
      properties: {
        kind: { type: 'string', enum: ['amqp'] },
        queue: { type: 'string' },
        messageId: { type: 'string' },
        replyTo: { type: 'string' },
        correlationId: { type: 'string' },
      },
    },
  },
} as const;

export const exceptionSchema = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
  },
} as const;
