// The OpenAPI 3.0 document served at /api, generated from the registered processes, the configuration
// and the same JSON Schemas that validate requests, so the documentation cannot drift from the
// behaviour. Every status an operation can answer is listed, with what it means there.
import type { OpenAPIV3 } from 'openapi-types';
import { jobListQuerySchema, jobLogsQuerySchema, jsonOnlyQuerySchema, noQuerySchema, processListQuerySchema } from '../src/http/query.js';
import { outputLinkQuerySchema } from '../src/job-data/routes.js';
import { mediaTypeOf } from '../src/jobs/manager.js';
import { metricsQuerySchema } from '../src/metrics/routes.js';
import { isImageProcess } from '../src/kubernetes/generic-image.js';
import { exceptionSchema, linkSchema, statusInfoSchema } from '../src/ogc/schemas.js';
import type { Services } from '../src/services.js';
import { executeOperation, rawByReference, resultsContent, resultsSchemaName, resultsSchemaOf } from './execute.js';
import { formOperation, orPage, pageOperations } from './pages.js';
import { dismissalErrors, errorResponses, json, queryParameters, ref } from './parts.js';
import { toOpenApiSchema } from './schema-conversion.js';

export function buildOpenApiDocument({ registry, config }: Pick<Services, 'registry' | 'config'>): OpenAPIV3.Document {
  const processes = registry.list();
  const onCluster = processes.some(isImageProcess);
  const withFiles = processes.filter((process) => process.description.outputTransmission.includes('reference'));
  const undismissable = processes.some((process) => !process.description.jobControlOptions.includes('dismiss'));
  const fileTypes = [...new Set(withFiles.flatMap((process) => Object.values(process.description.outputs).map(mediaTypeOf)))];
  const outputIds = [...new Set(withFiles.flatMap((process) => Object.keys(process.description.outputs)))];
  const jobId: OpenAPIV3.ParameterObject = {
    name: 'jobId',
    in: 'path',
    required: true,
    description: 'As the server issued it (a UUID); any other is no job (404).',
    schema: { type: 'string', format: 'uuid' },
  };
  const noQuery = queryParameters(noQuerySchema);

  const paths: OpenAPIV3.PathsObject = {
    '/': get('getLandingPage', 'Landing page', 'Links to the API definition, conformance, processes and jobs.', 'Capabilities', json({ type: 'object' })),
    '/conformance': get('getConformanceClasses', 'Conformance declaration', 'The conformance classes this server implements.', 'Capabilities', json({ type: 'object', required: ['conformsTo'], properties: { conformsTo: { type: 'array', items: { type: 'string' } } } })),
    '/api': get('getAPIDefinition', 'This API definition', 'The OpenAPI 3.0 document.', 'Capabilities', { 'application/vnd.oai.openapi+json;version=3.0': { schema: { type: 'object' } } }, jsonOnlyQuerySchema),
    '/processes': {
      get: {
        summary: 'List the processes',
        tags: ['Processes'],
        operationId: 'getProcesses',
        parameters: queryParameters(processListQuerySchema),
        responses: { '200': orPage({ description: 'The processes, one page.', content: json(ref('processList')) }), ...errorResponses({ '400': 'An unknown or invalid query parameter, or a cursor this server did not issue; the detail names it.' }) },
      },
    },
    '/processes/{processId}': {
      get: {
        summary: 'Describe a process',
        tags: ['Processes'],
        operationId: 'getProcessDescription',
        parameters: [
          { name: 'processId', in: 'path', required: true, description: 'One of the processes listed; any other is no process (404).', schema: { type: 'string', enum: processes.map((process) => process.description.id) } },
          ...noQuery,
        ],
        responses: { '200': orPage({ description: 'The process description (its page has the run form).', content: json({ type: 'object' }) }), ...errorResponses({ '404': 'No such process.' }) },
      },
    },
    '/jobs': {
      get: {
        summary: 'List the jobs',
        description: 'Newest first. Filters combine; paging follows the next and prev links.',
        tags: ['Jobs'],
        operationId: 'getJobs',
        parameters: queryParameters(jobListQuerySchema),
        responses: {
          '200': orPage({ description: 'One page of jobs (as a page, it updates itself while jobs run).', content: json(ref('jobList')) }),
          ...errorResponses({ '400': 'An unknown or invalid query parameter, a cursor this server did not issue, minDuration above maxDuration, or an interval that ends before it starts; the detail names it.' }),
        },
      },
    },
    '/jobs/{jobId}': {
      get: {
        summary: 'Status of a job',
        tags: ['Jobs'],
        operationId: 'getStatus',
        parameters: [jobId, ...noQuery],
        responses: { '200': orPage({ description: 'The job status (as a page: timeline, live log, dismissal).', content: json(ref('statusInfo')) }), ...errorResponses({ '404': 'No such job.' }) },
      },
      delete: {
        summary: 'Dismiss a job',
        description: 'Stops an unfinished job (it then reads dismissed); removes a finished one.',
        tags: ['Jobs'],
        operationId: 'dismiss',
        parameters: [jobId, ...noQuery],
        responses: {
          '200': { description: 'The dismissed job.', content: json(ref('statusInfo')) },
          ...dismissalErrors(undismissable, onCluster),
        },
      },
    },
    '/jobs/{jobId}/results': {
      get: {
        summary: 'Results of a job',
        description: 'As the execute request asked: a results document, or the raw output(s).',
        tags: ['Jobs'],
        operationId: 'getResult',
        parameters: [jobId, ...noQuery],
        responses: {
          '200': orPage({ description: 'The results.', content: resultsContent(processes) }),
          '204': rawByReference,
          ...errorResponses({
            '404': 'No such job (no-such-job), or it has no results yet or ever (result-not-ready: it is accepted, running or dismissed).',
            ...(withFiles.length ? { '422': 'A file output asked for by value in a results document is larger than the server inlines; the detail links to it.' } : {}),
            '500': 'The job failed (the detail says why), or the server failed.',
          }),
        },
      },
    },
    '/jobs/{jobId}/outputs/{outputId}': {
      get: {
        summary: 'A file output of a job',
        description: 'The link a results document gives for a file output asked for by reference; it expires (manager.files.link_ttl_seconds).',
        tags: ['Jobs'],
        operationId: 'getOutputFile',
        parameters: [
          jobId,
          { name: 'outputId', in: 'path', required: true, schema: outputIds.length ? { type: 'string', enum: outputIds } : { type: 'string', minLength: 1 } },
          ...queryParameters(outputLinkQuerySchema),
        ],
        responses: {
          ...(fileTypes.length ? { '200': { description: 'The file, in its media type.', content: Object.fromEntries(fileTypes.map((type) => [type, { schema: { type: 'string', format: 'binary' } }])) } } : {}),
          ...errorResponses({
            '403': 'The link expired, or was not issued by this server.',
            '404': 'No such job, or it has no such file (any more).',
          }),
        },
      },
    },
    '/jobs/{jobId}/logs': {
      get: {
        summary: 'Container logs of a job',
        description: 'Jobs of image processes: the live log while the pod exists (streamed with follow=true), the archived copy once it is gone (when log archiving is on).',
        tags: ['Jobs'],
        operationId: 'getLogs',
        parameters: [jobId, ...queryParameters(jobLogsQuerySchema)],
        responses: {
          ...(onCluster ? { '200': orPage({ description: 'The log, as the container wrote it.', content: { 'text/plain': { schema: { type: 'string' } } } }) } : {}),
          ...errorResponses({
            ...(onCluster ? { '400': 'An unknown or invalid query parameter, or the job has no such container.' } : {}),
            '404': 'No such job, or its log is not available (a local process has none); the detail says why.',
            ...(onCluster ? { '502': 'The Kubernetes API or the log archive failed.' } : {}),
          }),
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Metrics for Prometheus',
        description: 'Jobs, HTTP requests, Kubernetes watches, the log archive, callbacks and the process itself, in the Prometheus text format (version 0.0.4). Not an OGC resource.',
        tags: ['Monitoring'],
        operationId: 'getMetrics',
        parameters: queryParameters(metricsQuerySchema),
        responses: { '200': { description: 'The metrics of this replica.', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errorResponses({}) },
      },
    },
  };
  for (const process of processes) {
    paths[`/processes/${process.description.id}/execution`] = { post: executeOperation(process, config) };
    paths[`/processes/${process.description.id}/form`] = { post: formOperation(process) };
  }
  Object.assign(paths, pageOperations(jobId, onCluster, undismissable));
  return {
    openapi: '3.0.3',
    info: { title: config.server.title, version: '1.0.0', description: config.server.description },
    servers: [{ url: config.server.url }],
    tags: [{ name: 'Capabilities' }, { name: 'Processes' }, { name: 'Jobs' }, { name: 'Monitoring' }, { name: 'Pages', description: 'For people in a browser; every GET above is also a page (f=html, Accept: text/html).' }],
    paths,
    components: {
      schemas: {
        link: toOpenApiSchema(linkSchema),
        exception: toOpenApiSchema(exceptionSchema),
        statusInfo: toOpenApiSchema(statusInfoSchema),
        ...Object.fromEntries(processes.map((process) => [resultsSchemaName(process), resultsSchemaOf(process)])),
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

function get(operationId: string, summary: string, description: string, tag: string, content: OpenAPIV3.ResponseObject['content'], query: typeof noQuerySchema | typeof jsonOnlyQuerySchema = noQuerySchema): OpenAPIV3.PathItemObject {
  const ok = { description: summary, ...(content ? { content } : {}) };
  return {
    get: {
      summary,
      description,
      tags: [tag],
      operationId,
      parameters: queryParameters(query),
      responses: { '200': query === noQuerySchema ? orPage(ok) : ok, ...errorResponses({}) },
    },
  };
}
