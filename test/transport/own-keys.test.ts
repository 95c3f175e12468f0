// Keys that name Object.prototype members (`constructor`, `__proto__`, `toString`, …) as union
// tags, as unknown keys of strict objects, as map keys and as target ids: always a typed
// SchemaError or plain data, never a raw TypeError and never a prototype change.
import { describe, expect, it } from 'vitest';
import { EXCHANGES, inventoryReportSchema, reportRequestSchema } from '../../agent/delivery/messages.ts';
import { deliveryConfigSchema } from '../../agent/delivery/config.ts';
import { SchemaError, integer, object, optional, record, string, union } from '../../agent/transport/schema.ts';
import { decodeCbor, encodeCbor } from '../../agent/util/cbor.ts';
import { RoamingTracker } from '../../agent/roaming/index.ts';
import { newMedium } from '../store/workload.ts';

const PROTO_KEYS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'];

/** An object with an own (enumerable, data) key, `__proto__` included, as JSON.parse or CBOR give it. */
const withOwn = (base: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(base).replace(/^\{/, `{${JSON.stringify(key)}:${JSON.stringify(value)},`));

describe('schema lookups see own properties only', () => {
  const tagged = union('kind', { a: object({ kind: string({ max: 5 }) }), b: object({ kind: string({ max: 5 }), n: integer() }) });

  it.each(PROTO_KEYS)('a union tag %s is a SchemaError naming the allowed tags', (tag) => {
    expect(() => tagged.parse({ kind: tag })).toThrow(SchemaError);
    expect(() => tagged.parse({ kind: tag })).toThrow(/expected one of a, b/);
    // The wire's own unions too (reports the manager asks for, reports the agent sends).
    expect(() => reportRequestSchema.parse({ kind: tag })).toThrow(SchemaError);
    expect(() => inventoryReportSchema.parse({ type: 'report', kind: tag, deviceId: 'd', referenceCounter: 1 })).toThrow(SchemaError);
  });

  it('a union does not take its tag from the prototype chain', () => {
    const inherited = Object.create({ kind: 'a' }) as object;
    expect(() => tagged.parse(inherited)).toThrow(SchemaError);
  });

  it.each(PROTO_KEYS)('a strict object refuses the own key %s as unknown', (key) => {
    const strict = object({ name: string({ max: 10 }) }, { strict: true });
    expect(() => strict.parse(withOwn({ name: 'x' }, key, 1))).toThrow(/unknown key/);
    // And through CBOR, the way a config or a message arrives.
    expect(() => strict.parse(decodeCbor(encodeCbor(withOwn({ name: 'x' }, key, 1))))).toThrow(/unknown key/);
    expect(() => deliveryConfigSchema.parse(withOwn({ manager: 'http://m.test' }, key, {}))).toThrow(/unknown key/);
  });

  it('an object schema does not read fields from the prototype chain', () => {
    const needsToString = object({ toString: string({ max: 100 }) });
    expect(() => needsToString.parse({})).toThrow(/missing/);
    const optionalCtor = object({ constructor: optional(string({ max: 100 })) });
    expect(optionalCtor.parse({})).toEqual({});
  });

  it('a map keeps __proto__ as a key and never changes its prototype; CBOR maps too', () => {
    const map = record(integer(), { maxKeys: 10 });
    const parsed = map.parse(withOwn({ a: 1 }, '__proto__', 2));
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed).sort()).toEqual(['__proto__', 'a']);
    expect(() => map.parse(withOwn({ a: 1 }, '__proto__', 'no'))).toThrow(SchemaError);
    const decoded = decodeCbor(encodeCbor(withOwn({ type: 'x' }, '__proto__', { polluted: true }))) as Record<string, unknown>;
    expect(Object.keys(decoded).sort()).toEqual(['__proto__', 'type']);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect((decoded as { polluted?: unknown }).polluted).toBeUndefined();
    expect(decoded['__proto__']).toEqual({ polluted: true });
    // Keys CBOR allows but an object cannot hold faithfully are a typed error.
    expect(() => decodeCbor(Uint8Array.of(0xa1, 0x41, 0x00, 0x01))).toThrow(/map key of type object/);
    expect(decodeCbor(Uint8Array.of(0xa1, 0x01, 0x02))).toEqual({ 1: 2 });
  });

  it('an answer with such a tag is a badMessage for the agent, not a TypeError', () => {
    const list = { type: 'packageList', manager: { address: 'http://m.test', utcMs: 1 }, packages: [], reports: [{ kind: 'constructor' }] };
    expect(() => EXCHANGES.identify.answer.parse(list)).toThrow(SchemaError);
  });
});

describe('roaming with target ids that name prototype members', () => {
  it.each(['constructor', '__proto__', 'toString'])('target %s moves like any other', async (id) => {
    const store = await newMedium().open();
    const tracker = new RoamingTracker(store);
    const targets = [{ id, kind: 'device' as const }];
    await tracker.onConnection({ address: 'http://m1.test', utcMs: 1_000 }, targets);
    expect(tracker.pendingMoves(targets)).toEqual([{ id, kind: 'device' }]);
    await tracker.onConnection({ address: 'http://m2.test', utcMs: 2_000 }, targets);
    expect(tracker.pendingMoves(targets)).toEqual([{ id, kind: 'device', previousManager: 'http://m1.test' }]);
    await tracker.acknowledge([{ target: id, from: 'http://m1.test', result: 'moved' }]);
    expect(tracker.pendingMoves(targets)).toEqual([{ id, kind: 'device' }]);
  });
});

describe('persisted machine records naming prototype members', () => {
  it.each(['constructor', 'toString', '__proto__'])('a record in state %s is a MachineRecordError, not a state', async (state) => {
    const { MachineRecordError, StateMachine } = await import('../../agent/machine/index.ts');
    const { getValue, putValue } = await import('../../agent/store/index.ts');
    const table = {
      name: 't', version: 1, initial: 'a', loopState: 'done', giveUpState: 'done', maxStoreCount: 5,
      states: { a: { on: { go: 'done' } }, done: { final: true } },
    } as const;
    const store = await newMedium().open();
    const machine = new StateMachine({ table, handlers: { a: async () => ({ event: 'go' as const }) }, store, key: 'k' });
    await machine.start({});
    await putValue(store, 'k', { ...(getValue<Record<string, unknown>>(store, 'k') as object), state });
    expect(() => machine.record()).toThrow(MachineRecordError);
    expect(() => machine.active()).toThrow(MachineRecordError);
  });
});
