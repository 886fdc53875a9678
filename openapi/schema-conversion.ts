// Process input/output schemas are JSON Schema (draft-07 and later); OpenAPI 3.0 takes a subset.
// This turns one into the other so the API document validates and Swagger UI renders it.

const OPENAPI_30_KEYWORDS = new Set([
  'title', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength',
  'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'maxProperties', 'minProperties',
  'required', 'enum', 'type', 'allOf', 'oneOf', 'anyOf', 'not', 'items', 'properties',
  'additionalProperties', 'description', 'format', 'default', 'nullable', 'discriminator', 'readOnly',
  'writeOnly', 'example', 'deprecated', '$ref',
]);

type Schema = Record<string, unknown>;

export function toOpenApiSchema(input: unknown): Schema {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return {};
  const schema = { ...(input as Schema) };
  const out: Schema = {};
  if ('const' in schema) out.enum = [schema.const];
  if (Array.isArray(schema.type)) {
    const types = (schema.type as string[]).filter((t) => t !== 'null');
    if (types.length < (schema.type as string[]).length) out.nullable = true;
    if (types.length === 1) out.type = types[0];
    else out.anyOf = types.map((type) => ({ type }));
    delete schema.type;
  }
  for (const bound of ['exclusiveMinimum', 'exclusiveMaximum'] as const) {
    if (typeof schema[bound] === 'number') {
      out[bound === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = schema[bound];
      out[bound] = true;
      delete schema[bound];
    }
  }
  if (Array.isArray(schema.examples) && schema.example === undefined) out.example = schema.examples[0];
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && typeof value === 'object' && value) {
      out.properties = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, toOpenApiSchema(sub)]));
    } else if (['items', 'not'].includes(key) || (key === 'additionalProperties' && typeof value === 'object')) {
      out[key] = toOpenApiSchema(value);
    } else if (['allOf', 'oneOf', 'anyOf'].includes(key) && Array.isArray(value)) {
      out[key] = value.map(toOpenApiSchema);
    } else if (OPENAPI_30_KEYWORDS.has(key)) {
      if (!(key in out)) out[key] = value;
    } else if (!['const', 'examples', '$schema', '$id'].includes(key)) {
      out[`x-${key}`] = value; // kept for readers, ignored by OpenAPI 3.0 (e.g. contentMediaType)
    }
  }
  return out;
}

/** A plausible value for a schema, to pre-fill Swagger UI's "Try it out". */
export function exampleOf(input: unknown): unknown {
  const schema = toOpenApiSchema(input);
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  switch (schema.type) {
    case 'string':
      return schema.format === 'password' ? '' : 'text';
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return true;
    case 'array':
      return [exampleOf(schema.items)];
    case 'object':
      return Object.fromEntries(Object.entries((schema.properties ?? {}) as Schema).map(([k, v]) => [k, exampleOf(v)]));
    default:
      return 'value';
  }
}
