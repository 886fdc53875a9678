import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { buildOpenApiDocument } from '../../openapi/document.js';
import { processorTypes } from '../../src/compose.js';
import { loadConfig } from '../../src/config/load.js';
import { ProcessRegistry } from '../../src/processes/registry.js';

/** The document of a server with image processes, which the api suites (no cluster) never serve. */
function documentOf(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
  writeFileSync(join(dir, 'server-config.yaml'), yaml);
  const config = loadConfig(join(dir, 'server-config.yaml'), {}, processorTypes);
  const registry = new ProcessRegistry(config.resources.map((resource) => resource.processorType.create(resource.id, resource.options, { configDir: dir })));
  return buildOpenApiDocument({ registry, config });
}

describe('OpenAPI document of image processes', () => {
  const document = documentOf(`
server: {bind: {host: 127.0.0.1, port: 5000}}
manager: {local_store: {path: ':memory:'}, kubernetes: {stager: {image: example.test/stager:1}}}
resources:
  counter:
    type: process
    processor:
      name: GenericImageProcessor
      image: example.test/counter:1
      check_auth: true
      files: {inputs: {text: {media_types: [text/plain], max_bytes: 1024}}, outputs: {counts: {media_type: text/csv}}}
      metadata: {title: Counter, jobControlOptions: [async-execute, dismiss], outputs: {summary: {schema: {type: object}}}}
  quick:
    type: process
    processor: {name: GenericImageProcessor, image: example.test/quick:1, check_auth: false, metadata: {title: Quick, jobControlOptions: [sync-execute]}}
`);
  const responses = (path: string, method = 'get') => Object.keys((document.paths[path] as Record<string, { responses: object }>)[method]!.responses);

  it('is valid OpenAPI 3.0', async () => {
    const result = await new Validator().validate(JSON.parse(JSON.stringify(document)));
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 3000));
  });

  it('lists what an async-only, protected image process with files answers', () => {
    assert.deepEqual(responses('/processes/counter/execution', 'post'), ['201', '204', '400', '401', '404', '408', '413', '415', '422', '431', '500', '502', '503']);
  });

  it('lists what a sync-only, open image process without files answers: 504 at the wait bound', () => {
    assert.deepEqual(responses('/processes/quick/execution', 'post'), ['200', '204', '400', '404', '408', '413', '415', '431', '500', '502', '504']);
  });

  it('lists the cluster failures, the logs and the file downloads', () => {
    assert.deepEqual(responses('/jobs/{jobId}', 'delete'), ['200', '400', '404', '408', '431', '500', '502']);
    assert.deepEqual(responses('/jobs/{jobId}/logs'), ['200', '400', '404', '408', '431', '500', '502']);
    assert.deepEqual(responses('/jobs/{jobId}/outputs/{outputId}'), ['200', '400', '403', '404', '408', '431', '500']);
  });

  it('takes the token and the file input in the forms the server reads', () => {
    const body = (document.paths['/processes/counter/execution']!.post!.requestBody as { content: Record<string, { schema: { properties: { inputs: { required: string[]; properties: Record<string, { anyOf: Array<{ properties?: Record<string, unknown> }> }> } } } }> }).content['application/json']!.schema;
    assert.deepEqual(body.properties.inputs.required.sort(), ['text', 'token']);
    assert.equal(body.properties.inputs.properties.token!.anyOf.length, 2, 'a value, or a qualified value');
    const link = body.properties.inputs.properties.text!.anyOf.find((form) => form.properties?.href && !('not' in (form.properties.href as object)));
    assert.ok(link, 'a file input may be a link');
  });
});
