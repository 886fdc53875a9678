// The operations of the pages (src/pages): the run form of each process, dismissal from a job's page
// and the live event stream. Pages answer text/html; any failure may come as a page too (parts.ts).
import type { OpenAPIV3 } from 'openapi-types';
import { isImageProcess } from '../src/kubernetes/generic-image.js';
import { noQuerySchema } from '../src/http/query.js';
import { jobEventsQuerySchema } from '../src/pages/live-jobs.js';
import { formFields } from '../src/pages/form.js';
import type { Process } from '../src/processes/process.js';
import { dismissalErrors, errorResponses, queryParameters } from './parts.js';

export const HTML: Record<string, OpenAPIV3.MediaTypeObject> = { 'text/html': { schema: { type: 'string' } } };

/** A 200 answer that is JSON by default and a page when asked for one (f=html or Accept: text/html). */
export function orPage(response: OpenAPIV3.ResponseObject): OpenAPIV3.ResponseObject {
  return { ...response, content: { ...response.content, ...HTML } };
}

const redirect = (description: string): OpenAPIV3.ResponseObject => ({ description, headers: { Location: { required: true, schema: { type: 'string', format: 'uri' } } } });

/** POST /processes/{id}/form: the run form a process's page shows, as a browser sends it. */
export function formOperation(process: Process): OpenAPIV3.OperationObject {
  const { id, title, jobControlOptions } = process.description;
  const fields = formFields(process);
  const modes = [...(jobControlOptions.includes('sync-execute') ? ['sync'] : []), ...(jobControlOptions.includes('async-execute') ? ['async'] : [])];
  const body = (files: boolean): OpenAPIV3.SchemaObject => ({
    type: 'object',
    additionalProperties: false,
    properties: {
      mode: { type: 'string', enum: modes, description: 'sync: wait for the results; async: follow the job.' },
      ...Object.fromEntries(fields.map((field) => [field.name, field.kind === 'file' && files ? { type: 'string', format: 'binary', description: field.description } : { type: 'string', description: `${field.description}${field.kind === 'json' ? ` (JSON: ${field.hint})` : ''}` }])),
    },
  });
  return {
    summary: `Run ${title} from its page`,
    description: 'The form of the process page: the same execute request as the API (a results document), checked the same way. A refusal shows the form again with the reason.',
    tags: ['Pages'],
    operationId: `runForm_${id.replace(/[^A-Za-z0-9_]/g, '_')}`,
    parameters: queryParameters(noQuerySchema),
    requestBody: {
      required: true,
      content: {
        'application/x-www-form-urlencoded': { schema: body(false) },
        'multipart/form-data': { schema: body(true) },
      },
    },
    responses: {
      '303': redirect('The job was created: to its results page when it ran synchronously and succeeded, else to its page.'),
      ...errorResponses({
        '403': 'The form was sent from another site\'s page (Sec-Fetch-Site or Origin): refused, nothing is run.',
        '400': 'The form has fields it does not offer, a field is not JSON where JSON is asked, or the inputs are invalid: the form again, saying why.',
        ...(process.requiresToken ? { '401': 'The token is missing or wrong: the form again.' } : {}),
        '404': 'A synchronous job was dismissed (and removed) before it finished.',
        '413': 'The form, or a file of it, is larger than the server accepts.',
        '415': 'The body is neither multipart/form-data nor application/x-www-form-urlencoded.',
        ...(isImageProcess(process) || process.fileInputs ? { '502': 'The Kubernetes API or the job files store refused or could not be reached: the job was not created.' } : {}),
        ...(process.requiresToken ? { '503': 'The process is protected and this server has no API token configured.' } : {}),
        ...(jobControlOptions.includes('async-execute') ? {} : { '504': 'A synchronous execution outlived its wait bound; the job goes on.' }),
      }),
    },
  };
}

export function pageOperations(jobId: OpenAPIV3.ParameterObject, onCluster: boolean, undismissable: boolean): OpenAPIV3.PathsObject {
  return {
    '/jobs/{jobId}/dismissal': {
      post: {
        summary: 'Dismiss a job from its page',
        description: 'The confirmation button of a job page: DELETE /jobs/{jobId}, as a form can send it.',
        tags: ['Pages'],
        operationId: 'dismissFromPage',
        parameters: [jobId, ...queryParameters(noQuerySchema)],
        responses: {
          '303': redirect('To the job page when the job stays (it ran, and now reads dismissed), else to the job list.'),
          ...errorResponses({ '403': 'The form was sent from another site\'s page (Sec-Fetch-Site or Origin): refused, nothing is dismissed.' }),
          ...dismissalErrors(undismissable, onCluster),
        },
      },
    },
    '/job-events': {
      get: {
        summary: 'Job changes as they happen',
        description: 'Server-sent events (one `job` event, a statusInfo document, for each change of a job) for the pages that update themselves; a comment now and then keeps the stream open. The stream lasts until the client leaves.',
        tags: ['Pages'],
        operationId: 'watchJobs',
        parameters: queryParameters(jobEventsQuerySchema),
        responses: {
          '200': { description: 'The event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          ...errorResponses({ '404': 'No such job.', '503': 'As many viewers follow the jobs as the server serves at once.' }),
        },
      },
    },
  };
}
