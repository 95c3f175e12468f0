/**
 * Wire schemas built on demand (agent/transport/on-demand.ts): kept after the first check on a
 * Node board and the servers, built per check on a QuickJS board (createAgent picks by the
 * board's runtime). The checks themselves are the same either way.
 */
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../agent/index.ts';
import { onDemand, retainSchemas } from '../../agent/transport/on-demand.ts';
import { SchemaError, integer, object, string } from '../../agent/transport/schema.ts';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';

const board = async (name: string) => JSON.parse(await readFile(new URL(`../../boards/${name}.json`, import.meta.url), 'utf8'));

function counted() {
  let builds = 0;
  const schema = onDemand(() => {
    builds++;
    return object({ name: string({ min: 1, max: 8 }), size: integer({ min: 0 }) });
  });
  return { schema, builds: () => builds };
}

afterEach(() => retainSchemas(true));

describe('on-demand schemas', () => {
  it('are built at the first check and kept by default', () => {
    const { schema, builds } = counted();
    expect(builds()).toBe(0);
    expect(schema.parse({ name: 'a', size: 1, extra: true })).toEqual({ name: 'a', size: 1 });
    expect(schema.parse({ name: 'b', size: 2 })).toEqual({ name: 'b', size: 2 });
    expect(builds()).toBe(1);
  });

  it('are built per check, with the same results and errors, when schemas are not retained', () => {
    const { schema, builds } = counted();
    schema.parse({ name: 'a', size: 1 }); // kept, then let go at the switch
    retainSchemas(false);
    expect(schema.parse({ name: 'a', size: 1 })).toEqual({ name: 'a', size: 1 });
    expect(() => schema.parse({ name: '', size: 1 }, 'msg')).toThrow(new SchemaError('msg.name', 'shorter than 1'));
    expect(() => schema.parse({ name: 'a', size: -1 })).toThrow(SchemaError);
    expect(builds()).toBe(4);
  });

  it('createAgent drops them on a QuickJS board and keeps them on a Node board', async () => {
    for (const [name, perCheck] of [['quickjs-small', true], ['sim', false]] as const) {
      const spec = await board(name);
      const hardware = new MockHardware({ ...mockOptionsFromBoard(spec), identity: { deviceId: `od-${name}`, model: 'mock' } });
      const device = hardware.boot();
      await hardware.booted;
      const agent = await createAgent(device, spec, { logLevel: 'error', trust: { allowUnsigned: true } });
      const { schema, builds } = counted();
      schema.parse({ name: 'a', size: 1 });
      schema.parse({ name: 'a', size: 1 });
      expect(builds(), name).toBe(perCheck ? 2 : 1);
      await agent.close();
    }
  });
});
