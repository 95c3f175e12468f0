/**
 * The compiled schema tables (agent/syncml/schema.ts, string literals the agent loads) are what
 * `compileSchema` makes of the readable schema (agent/syncml/schema-spec.ts): edit SPEC, run this,
 * paste the literals it prints.
 */
import { describe, expect, it } from 'vitest';
import { tagName } from '../../wasm/src/syncml-tokens.ts';
import { commandSchema, FIELDS, fieldByCode, OFFSETS, PROPS, SYNC_BODY, SYNC_HDR, SYNCML } from '../../agent/syncml/schema.ts';
import { compileSchema, SPEC, stringLiteral } from '../../agent/syncml/schema-spec.ts';

describe('the compiled SyncML schema', () => {
  const compiled = compileSchema(SPEC);

  it('is compileSchema(SPEC), and the root models are where schema.ts says', () => {
    const literals = [
      `export const FIELDS = ${stringLiteral(compiled.fields)};`,
      `export const OFFSETS = ${stringLiteral(compiled.offsets)};`,
      `export const PROPS = ${stringLiteral(compiled.props.join(','))}.split(',');`,
    ].join('\n');
    expect({ fields: FIELDS, offsets: OFFSETS, props: PROPS }, `schema.ts is out of date; its tables are now:\n${literals}\n`).toEqual({
      fields: compiled.fields,
      offsets: compiled.offsets,
      props: compiled.props,
    });
    expect([compiled.names[SYNC_HDR], compiled.names[SYNC_BODY], compiled.names[SYNCML]]).toEqual(['Hdr', 'Body', 'SyncML']);
  });

  it('maps every command the body accepts to its model, and nothing else', () => {
    const body: string[] = [];
    for (let f = OFFSETS.charCodeAt(SYNC_BODY); f < OFFSETS.charCodeAt(SYNC_BODY + 1); f++) body.push(tagName(FIELDS.charCodeAt(f * 3)) as string);
    expect(body).toEqual(['Add', 'Alert', 'Atomic', 'Copy', 'Delete', 'Exec', 'Get', 'Map', 'Move', 'Put', 'Replace', 'Results', 'Sequence', 'Status', 'Sync', 'Final']);
    const models = Object.fromEntries(body.slice(0, -1).map((cmd) => [cmd, compiled.names[commandSchema(cmd)]]));
    expect(models).toEqual({
      Add: 'Items', Alert: 'Alert', Atomic: 'Atomic', Copy: 'Items', Delete: 'Delete', Exec: 'Exec', Get: 'LangItems', Map: 'Map',
      Move: 'Items', Put: 'LangItems', Replace: 'Items', Results: 'Results', Sequence: 'Sequence', Status: 'Status', Sync: 'Sync',
    });
    for (const other of ['Final', 'Item', 'SyncHdr', 'Nope', '']) expect(commandSchema(other)).toBe(-1);
    expect(fieldByCode(SYNC_HDR, 0x10000)).toBe(-1);
  });

  it('refuses a field it cannot compile', () => {
    expect(() => compileSchema('A=Nope')).toThrow(/bad field Nope/);
    expect(() => compileSchema('A=Target>Missing')).toThrow(/bad field Target>Missing/);
    expect(() => compileSchema('A=Target>>x')).toThrow(/bad field/);
  });
});
