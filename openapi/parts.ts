// Pieces every operation is made of: query parameters, responses.
import type { OpenAPIV3 } from 'openapi-types';
import { toOpenApiSchema } from './schema-conversion.js';

export type Schema = OpenAPIV3.SchemaObject;

export const ref = (name: string): OpenAPIV3.ReferenceObject => ({ $ref: `#/components/schemas/${name}` });

export const json = (schema: Schema | OpenAPIV3.ReferenceObject): Record<string, OpenAPIV3.MediaTypeObject> => ({ 'application/json': { schema } });

/**
 * A failure: a problem document (RFC 7807), also sent as application/json to a client that accepts
 * only that, and as a page to a request for a page (f=html, Accept: text/html, the pages' forms).
 */
export function problem(description: string): OpenAPIV3.ResponseObject {
  return {
    description,
    content: { 'application/problem+json': { schema: ref('exception') }, 'application/json': { schema: ref('exception') }, 'text/html': { schema: { type: 'string' } } },
  };
}

/**
 * The failures of an operation, each with what it means there. Any request may also be refused as
 * unreadable (400: an unknown query parameter, bad percent-encoding, not HTTP/1.1), arrive too slowly
 * (408) or with too many header bytes (431), both answered before any route, or fail in the server (500).
 */
/** The errors of dismissing a job, through the API or from its page. */
export function dismissalErrors(undismissable: boolean, onCluster: boolean): Record<string, OpenAPIV3.ResponseObject> {
  return errorResponses({
    ...(undismissable ? { '400': 'An unknown or invalid query parameter, or the job runs and its process does not allow dismissing it.' } : {}),
    '404': 'No such job.',
    ...(onCluster ? { '502': 'The Kubernetes API refused or could not be reached.' } : {}),
  });
}

export function errorResponses(specific: Record<string, string>): Record<string, OpenAPIV3.ResponseObject> {
  const all: Record<string, string> = {
    '400': 'Invalid request: an unknown or invalid query parameter; the detail names it.',
    '408': 'The request did not arrive in time (server.limits.headers_timeout_seconds, request_timeout_seconds); the connection closes.',
    '431': 'The request headers are larger than the server takes; the connection closes.',
    '500': 'Server error.',
    ...specific,
  };
  return Object.fromEntries(Object.keys(all).sort().map((status) => [status, problem(all[status]!)]));
}

/** Query parameters, from the JSON Schema that validates them; arrays are comma-separated (form style). */
export function queryParameters(schema: { properties: object; required?: readonly string[] }): OpenAPIV3.ParameterObject[] {
  return Object.entries(schema.properties).map(([name, property]) => {
    const converted = toOpenApiSchema(property);
    const { description, ...rest } = converted;
    return {
      name,
      in: 'query',
      required: schema.required?.includes(name) ?? false,
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest as Schema,
      ...(converted.type === 'array' ? { style: 'form', explode: false } : {}),
    };
  });
}
