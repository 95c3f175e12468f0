/**
 * The JSON schema editors use for `boards/*.json`, generated from the board profile table
 * (./board.ts `boardProfile()`). Kept apart from the validator: only `npm run board-schema` and its test
 * need it, not the agent that every board loads.
 */
import { boardProfile, REQUIRED_PARTITIONS, type Spec } from './board.ts';

type Json = Record<string, unknown>;

/** What each field means, by its path (array items share their array's path): only editors need it, so not the agent's profile table. */
const DESCRIPTIONS: Record<string, string> = {
  $schema: 'path of the JSON schema (editors only)',
  runtime: 'JavaScript engine the agent bundle runs on',
  'flash.blockLength': 'erase block size in bytes',
  'flash.writeAlign': 'program unit; offsets and lengths of writes are multiples of it',
  'flash.eraseValue': 'byte value after erase (NOR flash: 0xFF)',
  partitions: `must include ${REQUIRED_PARTITIONS.join(', ')}`,
  'partitions.offset': 'byte offset in the flash image (raw partitions only, a multiple of the block length)',
  'partitions.size': 'bytes (raw: a multiple of the block length; staging: the capacity of the staging area)',
  'partitions.kind': 'raw: region of the flash image; staging: filesystem area of this capacity for package bytes',
  memoryBudgetBytes: 'memory the agent may use (the QuickJS host heap limit)',
  downloadChunkBytes: 'bytes per download read; at most a quarter of memoryBudgetBytes',
  nativeServices:
    "what the board's firmware offers natively, which the QuickJS host hands to the guest instead of its JS code: engines (hashing, diffing, SyncML tokenizing), signatures (verifying TUF metadata signatures)",
  emulator: 'how tests run this board under QEMU user mode',
  'emulator.qemu': 'QEMU user-mode binary, e.g. qemu-aarch64-static',
  'emulator.sysroot': 'sysroot passed with -L',
  'emulator.nodePackage': "npm package carrying the guest's Node binary",
};

function specSchema(spec: Spec, path = ''): Json {
  switch (spec.type) {
    case 'string':
      return { type: 'string', ...(spec.pattern ? { pattern: spec.pattern.source } : {}) };
    case 'enum':
      return spec.values.length === 1 ? { const: spec.values[0] } : { enum: [...spec.values] };
    case 'integer':
      return { type: 'integer', minimum: spec.min };
    case 'array':
      return { type: 'array', minItems: spec.minItems, items: specSchema(spec.items, path) };
    case 'object': {
      const properties: Json = {};
      for (const [key, field] of Object.entries(spec.fields)) {
        const at = path ? `${path}.${key}` : key;
        const description = DESCRIPTIONS[at];
        properties[key] = { ...specSchema(field.spec, at), ...(field.default !== undefined ? { default: field.default } : {}), ...(description ? { description } : {}) };
      }
      const required = Object.entries(spec.fields).filter(([, field]) => field.required).map(([key]) => key);
      return { type: 'object', additionalProperties: false, ...(required.length ? { required } : {}), properties };
    }
  }
}

/** The JSON schema editors use for `boards/*.json`, generated from boardProfile(). */
export function boardJsonSchema(): Json {
  const schema = specSchema({ type: 'object', fields: boardProfile() });
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
