/**
 * The table check (agent/machine/table.ts `validateTable`) runs when a machine is built: a bad table
 * fails at once, before any record is read or written, and each problem is reported in the order the
 * table is read (its own fields, then each state, then the handlers).
 */
import { describe, expect, it } from 'vitest';
import { MachineTableError, StateMachine, validateTable, type MachineTable } from '../../agent/machine/index.ts';
import { newMedium } from '../store/workload.ts';

type S = 'a' | 'b' | 'done';
type E = 'go' | 'finish';
const good: MachineTable<S, E> = { name: 't', version: 1, initial: 'a', loopState: 'done', giveUpState: 'done', maxStoreCount: 5, states: { a: 'go>b', b: 'finish>done', done: '@final' } };
const handlers = { a: async () => ({ event: 'go' as const }), b: async () => ({ event: 'finish' as const }) };

describe('a bad table fails when its machine is built', () => {
  it('the constructor refuses it and writes nothing', async () => {
    const store = await newMedium().open();
    const bad = { ...good, states: { ...good.states, b: 'finish>nowhere' } } as MachineTable<S, E>;
    expect(() => new StateMachine({ table: bad, handlers, store, key: 'k' })).toThrow(MachineTableError);
    expect(() => new StateMachine({ table: bad, handlers, store, key: 'k' })).toThrow(/state table t: b --finish--> nowhere: no such state/);
    expect(store.keys('')).toEqual([]);
    expect(() => new StateMachine({ table: good, handlers: { a: handlers.a }, store, key: 'k' })).toThrow(/state b has no handler/);
  });

  it('reports the first problem in reading order, and a final state with transitions as that', () => {
    const problems = { ...good, initial: 'zz' as S, states: { ...good.states, a: 'go>nowhere', done: '@final go>elsewhere' } } as MachineTable<S, E>;
    expect(() => validateTable(problems, ['a', 'b', 'c'])).toThrow(/initial state zz is not defined/);
    expect(() => validateTable({ ...problems, initial: 'a' }, ['a', 'b', 'c'])).toThrow(/a --go--> nowhere: no such state/);
    expect(() => validateTable({ ...problems, initial: 'a', states: { ...problems.states, a: 'go>b' } }, ['a', 'b', 'c'])).toThrow(/final state done has transitions/);
    expect(() => validateTable(good, ['a', 'b', 'c'])).toThrow(/handler for unknown state c/);
    expect(() => validateTable({ ...good, maxStoreCount: 0 }, ['a', 'b'])).toThrow(/maxStoreCount must be a positive integer/);
    expect(() => validateTable({ ...good, loopState: 'zz' as S }, ['a', 'b'])).toThrow(/loopState zz is not defined/);
    expect(() => validateTable({ ...good, states: { ...good.states, b: 'finish>done @onLoop>zz' } }, ['a', 'b'])).toThrow(/b loops to unknown state zz/);
  });
});
