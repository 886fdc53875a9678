// The OpenAPI 3.0 document served at /api, generated from the registered processes and from the
// same JSON Schemas that validate requests, so the documentation cannot drift from the behaviour.
import type { OpenAPIV3 } from 'openapi-types';
import { jobListQuerySchema, jobLogsQuerySchema, processListQuerySchema } from '../src/http/query.js';
import { outputLinkQuerySchema } from '../src/job-data/routes.js';
import {
  exceptionSchema,
  executeRequestSchema,
  linkSchema,
  statusInfoSchema,
} from '../src/ogc/schemas.js';
import { isImageProcess } from '../src/kubernetes/generic-image.js';
import type { Process } from '../src/processes/process.js';
import type { Services } from '../src/services.js';
import { exampleOf, toOpenApiSchema } from './schema-conversion.js';

type Schema = OpenAPIV3.SchemaObject;
const ref = (name: string): OpenAPIV3.ReferenceObject => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema | OpenAPIV3.ReferenceObject) => ({ 'application/json': { schema } });
const problem = (description: string): OpenAPIV3.ResponseObject => ({
  description,
  content: { 'application/problem+json': { schema: ref('exception') } },
});

const rawByReference: OpenAPIV3.ResponseObject = {
  description: 'Raw results whose outputs were all asked by reference (or none): no body, a Link header for each output (`rel="item"`, its media type as `type`, the output id as `title`).',
  headers: { Link: { schema: { type: 'string' }, description: 'One link per output.' } },
};
const errors = {
  '400': problem('Invalid request: the detail names what is wrong.'),
  '404': problem('Not found (no-such-process, no-such-job or result-not-ready).'),
  '500': problem('Server error.'),
};

export function buildOpenApiDocument({ registry, config }: Pick<Services, 'registry' | 'config'>): OpenAPIV3.Document {
  const processes = registry.list();
  const processIds = processes.map((process) => process.description.id);
  const paths: OpenAPIV3.PathsObject = {
    '/': get('Landing page', 'Links to the API definition, conformance, processes and jobs.', 'Capabilities', json({ type: 'object' })),
    '/conformance': get('Conformance declaration', 'The conformance classes this server implements.', 'Capabilities', json({ type: 'object', properties: { conformsTo: { type: 'array', items: { type: 'string' } } } })),
    '/api': get('This API definition', 'The OpenAPI 3.0 document.', 'Capabilities', { 'application/vnd.oai.openapi+json;version=3.0': { schema: { type: 'object' } } }),
    '/processes': {
      get: {
        summary: 'List the processes',
        tags: ['Processes'],
        operationId: 'getProcesses',
        parameters: queryParameters(processListQuerySchema),
        responses: { '200': { description: 'The processes, one page.', content: json(ref('processList')) }, '400': errors['400'] },
      },
    },
    '/processes/{processId}': {
      get: {
        summary: 'Describe a process',
        tags: ['Processes'],
        operationId: 'getProcessDescription',
        parameters: [processIdParameter(processIds)],
        responses: { '200': { description: 'The process description.', content: json({ type: 'object' }) }, '404': errors['404'] },
      },
    },
    '/processes/{processId}/execution': {
      post: executeOperation('execute', 'Execute a process', [processIdParameter(processIds)], ref('execute')),
    },
    '/jobs': {
      get: {
        summary: 'List the jobs',
        description: 'Newest first. Filters combine; paging follows the next and prev links.',
        tags: ['Jobs'],
        operationId: 'getJobs',
        parameters: queryParameters(jobListQuerySchema),
        responses: { '200': { description: 'One page of jobs.', content: json(ref('jobList')) }, '400': errors['400'] },
      },
    },
    '/jobs/{jobId}': {
      get: {
        summary: 'Status of a job',
        tags: ['Jobs'],
        operationId: 'getStatus',
        parameters: [jobIdParameter],
        responses: { '200': { description: 'The job status.', content: json(ref('statusInfo')) }, '404': errors['404'] },
      },
      delete: {
        summary: 'Dismiss a job',
        description: 'Stops an unfinished job (it then reads dismissed); removes a finished one.',
        tags: ['Jobs'],
        operationId: 'dismiss',
        parameters: [jobIdParameter],
        responses: { '200': { description: 'The dismissed job.', content: json(ref('statusInfo')) }, '404': errors['404'] },
      },
    },
    '/jobs/{jobId}/results': {
      get: {
        summary: 'Results of a job',
        description: 'As the execute request asked: a results document, or the raw output(s).',
        tags: ['Jobs'],
        operationId: 'getResult',
        parameters: [jobIdParameter],
        responses: {
          '200': { description: 'The results.', content: { ...json(ref('results')), '*/*': { schema: {} } } },
          '204': rawByReference,
          '404': errors['404'],
          '422': problem('A file output asked for by value in a results document is larger than the server inlines; the detail links to it.'),
          '500': problem('The job failed; the detail says why.'),
        },
      },
    },
    '/jobs/{jobId}/outputs/{outputId}': {
      get: {
        summary: 'A file output of a job',
        description: 'The link a results document gives for a file output asked for by reference; it expires (manager.files.link_ttl_seconds).',
        tags: ['Jobs'],
        operationId: 'getOutputFile',
        parameters: [jobIdParameter, { name: 'outputId', in: 'path', required: true, schema: { type: 'string' } }, ...queryParameters(outputLinkQuerySchema)],
        responses: {
          '200': { description: 'The file, in its media type.', content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
          '400': errors['400'],
          '403': problem('The link expired, or was not issued by this server.'),
          '404': problem('No such job, or it has no such file (any more).'),
        },
      },
    },
    '/jobs/{jobId}/logs': {
      get: {
        summary: 'Container logs of a job',
        description: 'Jobs of image processes: the live log while the pod exists (streamed with follow=true), the archived copy once it is gone (when log archiving is on).',
        tags: ['Jobs'],
        operationId: 'getLogs',
        parameters: [jobIdParameter, ...queryParameters(jobLogsQuerySchema)],
        responses: {
          '200': { description: 'The log, as the container wrote it.', content: { 'text/plain': { schema: { type: 'string' } } } },
          '400': errors['400'],
          '404': problem('No such job, or its log is not available; the detail says why.'),
          '502': problem('The Kubernetes API or the log archive failed.'),
        },
      },
    },
  };
  for (const process of processes) {
    const id = process.description.id;
    paths[`/processes/${id}/execution`] = {
      post: executeOperation(`execute_${id.replace(/[^A-Za-z0-9_]/g, '_')}`, `Execute ${process.description.title}`, [], executeSchemaOf(process), process),
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: config.server.title, version: '1.0.0', description: config.server.description },
    servers: [{ url: config.server.url }],
    tags: [{ name: 'Capabilities' }, { name: 'Processes' }, { name: 'Jobs' }],
    paths,
    components: {
      schemas: {
        link: toOpenApiSchema(linkSchema),
        exception: toOpenApiSchema(exceptionSchema),
        statusInfo: toOpenApiSchema(statusInfoSchema),
        execute: toOpenApiSchema(executeRequestSchema),
        results: { type: 'object', additionalProperties: {}, description: 'Output id → value.' },
        jobList: {
          type: 'object',
          required: ['jobs', 'links'],
          properties: {
            jobs: { type: 'array', items: ref('statusInfo') },
            links: { type: 'array', items: ref('link') },
            numberMatched: { type: 'integer', minimum: 0 },
            numberReturned: { type: 'integer', minimum: 0 },
          },
        },
        processList: {
          type: 'object',
          required: ['processes', 'links'],
          properties: { processes: { type: 'array', items: { type: 'object' } }, links: { type: 'array', items: ref('link') } },
        },
      },
    },
  };
}

function get(summary: string, description: string, tag: string, content: OpenAPIV3.ResponseObject['content']): OpenAPIV3.PathItemObject {
  return { get: { summary, description, tags: [tag], responses: { '200': { description: summary, content } } } };
}

const jobIdParameter: OpenAPIV3.ParameterObject = { name: 'jobId', in: 'path', required: true, schema: { type: 'string' } };

function processIdParameter(ids: string[]): OpenAPIV3.ParameterObject {
  return { name: 'processId', in: 'path', required: true, schema: { type: 'string', ...(ids.length ? { example: ids[0] } : {}) } };
}

/** Query parameters, from the JSON Schema that validates them; arrays are comma-separated (form style). */
function queryParameters(schema: { properties: object }): OpenAPIV3.ParameterObject[] {
  return Object.entries(schema.properties).map(([name, property]) => {
    const converted = toOpenApiSchema(property);
    const { description, ...rest } = converted;
    return {
      name,
      in: 'query',
      required: false,
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest as Schema,
      ...(converted.type === 'array' ? { style: 'form', explode: false } : {}),
    };
  });
}

function executeOperation(
  operationId: string,
  summary: string,
  parameters: OpenAPIV3.ParameterObject[],
  body: Schema | OpenAPIV3.ReferenceObject,
  process?: Process,
): OpenAPIV3.OperationObject {
  // The generic /processes/{processId}/execution may reach any process.
  const protectedProcess = !process || process.requiresToken === true;
  const onCluster = !process || isImageProcess(process);
  const takesFiles = !process || Object.keys(process.fileInputs ?? {}).length > 0;
  return {
    summary,
    ...(process?.description.description ? { description: process.description.description } : {}),
    tags: ['Processes'],
    operationId,
    parameters: [
      ...parameters,
      {
        name: 'Prefer',
        in: 'header',
        required: false,
        description: '`respond-async` asks for asynchronous execution; `wait=N` bounds a synchronous one (RFC 7240).',
        schema: { type: 'string' },
      },
    ],
    requestBody: { required: true, content: json(body) },
    responses: {
      '200': { description: 'Synchronous execution: the results, raw or as a document.', content: { ...json(ref('results')), '*/*': { schema: {} } } },
      '204': rawByReference,
      '201': {
        description: 'Asynchronous execution: the job was created; follow the Location header.',
        headers: { Location: { schema: { type: 'string' }, description: 'URL of the job status.' } },
        content: json(ref('statusInfo')),
      },
      '400': errors['400'],
      ...(protectedProcess ? { '401': problem('The process is protected: the input `token` is missing or is not this server’s API token. No job was created.') } : {}),
      '404': errors['404'],
      '413': problem('The request body is larger than the server accepts.'),
      '415': problem('The request body is not application/json.'),
      '500': errors['500'],
      ...(onCluster || takesFiles ? { '502': problem('The Kubernetes API or the job files store refused or could not be reached: the job was not created.') } : {}),
      ...(protectedProcess ? { '503': problem('The process is protected and this server has no API token configured, so it does not run it.') } : {}),
      '504': problem('A synchronous execution outlived its wait bound and the process offers no async execution; the job goes on, and the detail names it.'),
    },
  };
}

/** The execute request of one process, with its inputs and outputs spelled out. */
function executeSchemaOf(process: Process): Schema {
  const { inputs, outputs } = process.description;
  const required = Object.entries(inputs).filter(([, input]) => (input.minOccurs ?? 1) > 0).map(([id]) => id);
  const inputProperties = Object.fromEntries(
    Object.entries(inputs).map(([id, input]) => {
      const schema = toOpenApiSchema(input.schema);
      const many = input.maxOccurs === 'unbounded' || (input.maxOccurs ?? 1) > 1;
      const described = { ...schema, ...(input.description ? { description: input.description } : {}) };
      return [id, (many ? { oneOf: [described, { type: 'array', items: schema }] } : described) as Schema];
    }),
  );
  const example = Object.fromEntries(Object.entries(inputs).filter(([id]) => required.includes(id) || Object.keys(inputs).length <= 3).map(([id, input]) => [id, exampleOf(input.schema)]));
  return {
    type: 'object',
    ...(required.length ? { required: ['inputs'] } : {}),
    properties: {
      inputs: { type: 'object', additionalProperties: false, ...(required.length ? { required } : {}), properties: inputProperties },
      outputs: {
        type: 'object',
        additionalProperties: false,
        properties: Object.fromEntries(Object.keys(outputs).map((id) => [id, toOpenApiSchema(executeRequestSchema.properties.outputs.additionalProperties)])),
      },
      response: { type: 'string', enum: ['raw', 'document'], default: 'raw' },
    },
    example: { inputs: example, response: 'document' },
  };
}
