/**
 * The JSON schema editors use for `boards/*.json`, generated from the board profile table
 * (./board.ts `PROFILE`). Kept apart from the validator: only `npm run board-schema` and its test
 * need it, not the agent that every board loads.
 */
import { PROFILE, type Spec } from './board.ts';

type Json = Record<string, unknown>;

function specSchema(spec: Spec): Json {
  switch (spec.type) {
    case 'string':
      return { type: 'string', ...(spec.pattern ? { pattern: spec.pattern.source } : {}) };
    case 'enum':
      return spec.values.length === 1 ? { const: spec.values[0] } : { enum: [...spec.values] };
    case 'integer':
      return { type: 'integer', minimum: spec.min };
    case 'array':
      return { type: 'array', minItems: spec.minItems, items: specSchema(spec.items) };
    case 'object': {
      const properties: Json = {};
      for (const [key, field] of Object.entries(spec.fields))
        properties[key] = { ...specSchema(field.spec), ...(field.default !== undefined ? { default: field.default } : {}), ...(field.description ? { description: field.description } : {}) };
      const required = Object.entries(spec.fields).filter(([, field]) => field.required).map(([key]) => key);
      return { type: 'object', additionalProperties: false, ...(required.length ? { required } : {}), properties };
    }
  }
}

/** The JSON schema editors use for `boards/*.json`, generated from PROFILE. */
export function boardJsonSchema(): Json {
  const schema = specSchema({ type: 'object', fields: PROFILE });
  // What the table cannot say, for editors: a raw partition has an offset, a staging one has none.
  const partitions = (schema.properties as Json).partitions as { items: Json };
  partitions.items = {
    ...partitions.items,
    if: { properties: { kind: { const: 'staging' } }, required: ['kind'] },
    then: { not: { required: ['offset'] } },
    else: { required: ['offset'] },
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://dm-agent.invalid/boards/schema/board.schema.json',
    title: 'dm-agent board profile',
    description:
      'Generated from agent/board.ts (npm run board-schema); do not edit. `dm-agent board check <file>` applies these rules plus the ones a schema cannot express (overlaps, block alignment, required partitions).',
    ...schema,
  };
}
