import { describe, expect, it } from 'vitest';
import { MachineRecordError, MachineTableError, StateMachine, stateDefinition, updateFlow, validateTable, type MachineTable, type UpdateState } from '../../agent/machine/index.ts';
import { newMedium } from '../store/workload.ts';

type S = 'a' | 'b' | 'done';
type E = 'go' | 'finish';
const good: MachineTable<S, E> = {
  name: 't', version: 1, initial: 'a', loopState: 'done', giveUpState: 'done', maxStoreCount: 5,
  states: { a: { on: { go: 'b' } }, b: { on: { finish: 'done' } }, done: { final: true } },
};

describe('state tables are validated when a machine is built', () => {
  const handled = ['a', 'b'];
  it('accepts a good table and the shipped update flow', () => {
    expect(() => validateTable(good, handled)).not.toThrow();
    expect(() => validateTable(updateFlow, Object.keys(updateFlow.states).filter((s) => !stateDefinition(updateFlow, s as UpdateState).final))).not.toThrow();
  });
  it.each([
    ['unknown target', { ...good, states: { ...good.states, a: { on: { go: 'nowhere' as S } } } }, handled, /no such state/],
    ['final with transitions', { ...good, states: { ...good.states, done: { final: true, on: { go: 'a' as S } } } }, handled, /final state done has transitions/],
    ['dead end', { ...good, states: { ...good.states, b: {} } }, handled, /neither final nor has transitions/],
    ['missing handler', good, ['a'], /state b has no handler/],
    ['handler for unknown state', good, ['a', 'b', 'c'], /unknown state c/],
    ['bad resume', { ...good, states: { ...good.states, a: { on: { go: 'b' as S }, resume: 'zz' as S } } }, handled, /resumes at unknown/],
    ['bad initial', { ...good, initial: 'zz' as S }, handled, /initial state/],
    ['a give-up state that is not final', { ...good, giveUpState: 'a' as S }, handled, /giveUpState a must be a final state/],
    ['no final', { ...good, states: { a: { on: { go: 'b' as S } }, b: { on: { go: 'a' as S } }, done: { on: { go: 'a' as S } } } }, handled, /no final state/],
  ])('rejects %s', (_name, table, handlers, message) => {
    expect(() => validateTable(table as MachineTable<S, E>, handlers)).toThrow(MachineTableError);
    expect(() => validateTable(table as MachineTable<S, E>, handlers)).toThrow(message);
  });
  it('refuses a record written by another table or version instead of misreading it', async () => {
    const store = await newMedium().open();
    const handlers = { a: async () => ({ event: 'go' as const }), b: async () => ({ event: 'finish' as const }) };
    await new StateMachine({ table: good, handlers, store, key: 'k' }).start({});
    expect(() => new StateMachine({ table: { ...good, name: 'other' }, handlers, store, key: 'k' }).record()).toThrow(MachineRecordError);
    expect(() => new StateMachine({ table: { ...good, version: 2 }, handlers, store, key: 'k' }).record()).toThrow(MachineRecordError);
  });
});

describe('compact states (one string per state)', () => {
  it('read as the object form: the shipped update flow is the table it was as objects', () => {
    const objects = {
      downloading: { on: { downloaded: 'activating', failed: 'reportingFailure' } },
      activating: { on: { activated: 'rebooting', failed: 'reportingFailure' } },
      rebooting: { on: { rebootFailed: 'rollingBack', booted: 'verifyingBoot' }, resume: 'verifyingBoot', onLoop: 'rollingBack' },
      verifyingBoot: { on: { healthy: 'committing', unhealthy: 'rollingBack', notBooted: 'rebooting', bootloaderRolledBack: 'reportingFailure' }, onLoop: 'rollingBack' },
      committing: { on: { committed: 'reportingSuccess', failed: 'rollingBack' }, onLoop: 'rollingBack' },
      rollingBack: { on: { failed: 'reportingFailure', rolledBack: 'reportingFailure' }, resume: 'verifyingRollback' },
      verifyingRollback: { on: { rolledBack: 'reportingFailure', notRolledBack: 'rollingBack' } },
      reportingSuccess: { on: { reported: 'succeeded' }, onLoop: 'succeeded' },
      reportingFailure: { on: { reported: 'failed' }, onLoop: 'failed' },
      succeeded: { final: true },
      failed: { final: true },
    };
    expect(Object.fromEntries(Object.keys(updateFlow.states).map((state) => [state, stateDefinition(updateFlow, state as UpdateState)]))).toEqual(objects);
  });

  it('mix with object states, are validated the same way, and run', async () => {
    const mixed: MachineTable<S, E> = { ...good, states: { a: 'go>b', b: { on: { finish: 'done' } }, done: '@final' } };
    expect(() => validateTable(mixed, ['a', 'b'])).not.toThrow();
    expect(() => validateTable({ ...mixed, states: { ...mixed.states, a: 'go>nowhere' } }, ['a', 'b'])).toThrow(/a --go--> nowhere: no such state/);
    expect(() => validateTable({ ...mixed, states: { ...mixed.states, done: '@final go>a' } }, ['a', 'b'])).toThrow(/final state done has transitions/);
    expect(() => validateTable({ ...mixed, states: { ...mixed.states, a: 'go>b @resume>zz' } }, ['a', 'b'])).toThrow(/resumes at unknown/);
    const store = await newMedium().open();
    const handlers = { a: async () => ({ event: 'go' as const }), b: async () => ({ event: 'finish' as const }) };
    const machine = new StateMachine({ table: mixed, handlers, store, key: 'k' });
    await machine.start({});
    expect(await machine.run()).toMatchObject({ kind: 'final', state: 'done' });
  });
});
