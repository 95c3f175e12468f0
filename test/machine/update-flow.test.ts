import { describe, expect, it } from 'vitest';
import { StateMachine, UnhandledEventError, updateFlow, type StateHandler, type UpdateEvent, type UpdateState } from '../../agent/machine/index.ts';
import { PowerCutError } from '../../hal/errors.ts';
import { newMedium } from '../store/workload.ts';
import { FakeAb, handlersFor, type Job } from './fake-ab.ts';

/** Thrown by an injected fault: the device loses power at that point. */
class PowerLoss extends Error {}

interface Scenario {
  name: string;
  setup: (device: FakeAb) => void;
  final: 'succeeded' | 'failed';
  active: 'a' | 'b';
  report: string;
  path: UpdateState[];
}

const scenarios: Scenario[] = [
  { name: 'healthy update', setup: () => {}, final: 'succeeded', active: 'b', report: 'success',
    path: ['downloading', 'activating', 'rebooting', 'verifyingBoot', 'committing', 'reportingSuccess', 'succeeded'] },
  { name: 'download failure', setup: (d) => { d.downloadFails = true; }, final: 'failed', active: 'a', report: 'failure:download',
    path: ['downloading', 'reportingFailure', 'failed'] },
  { name: 'unhealthy image rolls back', setup: (d) => { d.healthyImage = false; }, final: 'failed', active: 'a', report: 'failure:health check',
    path: ['downloading', 'activating', 'rebooting', 'verifyingBoot', 'rollingBack', 'verifyingRollback', 'reportingFailure', 'failed'] },
];

type Fault = { at: number; when: 'before' | 'after' } | undefined;

/** Boots the device until the job reaches a final state; injects one power loss at the `at`-th handler call. */
async function drive(scenario: Scenario, fault: Fault, cutAfter?: number) {
  const medium = newMedium();
  const device = new FakeAb();
  scenario.setup(device);
  const path: string[] = [];
  let calls = 0;
  const real = handlersFor(device);
  const handlers: Partial<Record<UpdateState, StateHandler<UpdateState, UpdateEvent, Job>>> = {};
  for (const [state, handler] of Object.entries(real) as [UpdateState, StateHandler<UpdateState, UpdateEvent, Job>][]) {
    handlers[state] = async (context, step) => {
      calls++;
      if (fault && calls === fault.at && fault.when === 'before') throw new PowerLoss();
      const result = await handler(context, step);
      if (fault && calls === fault.at && fault.when === 'after') throw new PowerLoss();
      return result;
    };
  }
  let store = await medium.open();
  const machineOn = (s: typeof store) =>
    new StateMachine({ table: updateFlow, handlers, store: s, key: 'job/update', onTransition: (t) => path.push(t.to) });
  if (cutAfter !== undefined) medium.power.cutAfter(cutAfter);
  let machine = machineOn(store);
  let started = false;
  for (let boot = 0; boot < 40; boot++) {
    try {
      if (!started) {
        await machine.start({ target: 'b', original: 'a' });
        path.push(updateFlow.initial);
        started = true;
      } else await machine.resume();
      const outcome = await machine.run();
      if (outcome.kind === 'final') return { outcome, device, path, calls, boots: boot };
    } catch (error) {
      if (!(error instanceof PowerLoss) && !(error instanceof PowerCutError)) throw error;
      medium.power.restore();
    }
    // Reboot: requested or after a power loss. The bootloader runs, the agent starts over from the store.
    device.boot();
    store = await medium.open();
    expect(store.report.corruption).toEqual([]);
    machine = machineOn(store);
    if (!started) started = machine.record() !== undefined;
  }
  throw new Error('did not converge in 40 boots');
}

describe('A/B update flow (table-driven)', () => {
  for (const scenario of scenarios) {
    it(`${scenario.name}: follows the table`, async () => {
      const { outcome, device, path } = await drive(scenario, undefined);
      expect(outcome.state).toBe(scenario.final);
      expect(path).toEqual(scenario.path);
      expect(device.active).toBe(scenario.active);
      expect(device.confirmed).toBe(true);
      expect(device.reports).toEqual([scenario.report]);
    });

    it(`${scenario.name}: a reboot injected in every state, before and after its side effect, reaches the same end`, async () => {
      const clean = await drive(scenario, undefined);
      let injected = 0;
      for (let at = 1; at <= clean.calls; at++) {
        for (const when of ['before', 'after'] as const) {
          const run = await drive(scenario, { at, when });
          expect(run.outcome.state, `power loss ${when} handler call ${at}`).toBe(scenario.final);
          expect(run.device.active).toBe(scenario.active);
          expect(run.device.confirmed).toBe(true);
          // Reports are at-least-once: a loss after sending repeats it, never reports something else.
          expect(new Set(run.device.reports)).toEqual(new Set([scenario.report]));
          injected++;
        }
      }
      expect(injected).toBe(clean.calls * 2);
    });

    it(`${scenario.name}: a power cut at every store write of the job recovers`, async () => {
      // Count the writes of a clean run, then cut at each.
      const countRun = await (async () => {
        const probe = newMedium();
        const s = await probe.open();
        const device = new FakeAb();
        scenario.setup(device);
        const m = new StateMachine({ table: updateFlow, handlers: handlersFor(device), store: s, key: 'job/update' });
        await m.start({ target: 'b', original: 'a' });
        for (let boot = 0; boot < 10; boot++) {
          const outcome = await m.run();
          if (outcome.kind === 'final') break;
          device.boot();
          await m.resume();
        }
        return probe.power.operations;
      })();
      for (let n = 1; n <= countRun; n++) {
        const run = await drive(scenario, undefined, n);
        expect(run.outcome.state, `cut ${n}`).toBe(scenario.final);
        expect(run.device.active).toBe(scenario.active);
      }
    });
  }
});

describe('state machine engine', () => {
  it('loop guard: an image that crashes the device on every boot ends rolled back, not in a boot loop', async () => {
    const medium = newMedium();
    const device = new FakeAb();
    device.bootLimit = 1000; // the bootloader would never give up on its own
    const handlers = handlersFor(device);
    const crashing = { ...handlers, verifyingBoot: async () => { throw new PowerLoss(); } } as typeof handlers;
    let store = await medium.open();
    let machine = new StateMachine({ table: updateFlow, handlers: crashing, store, key: 'job' });
    await machine.start({ target: 'b', original: 'a' });
    let boots = 0;
    for (;;) {
      try {
        const outcome = await machine.run();
        if (outcome.kind === 'final') {
          expect(outcome.state).toBe('failed');
          break;
        }
      } catch (error) {
        if (!(error instanceof PowerLoss)) throw error;
      }
      device.boot();
      boots++;
      expect(boots).toBeLessThan(updateFlow.maxStoreCount + 5);
      store = await medium.open();
      machine = new StateMachine({ table: updateFlow, handlers: crashing, store, key: 'job' });
      await machine.resume();
    }
    expect(device.active).toBe('a');
    expect(machine.record()?.loopTripped).toBe(true);
    expect(device.reports).toEqual(['failure:unknown']);
  });

  it('loop guard gives up on a job whose failure path loops too', async () => {
    const store = await newMedium().open();
    const device = new FakeAb();
    const handlers = { ...handlersFor(device), reportingFailure: async () => { throw new PowerLoss(); }, downloading: async () => { throw new PowerLoss(); } };
    const machine = new StateMachine({ table: updateFlow, handlers, store, key: 'job' });
    await machine.start({ target: 'b', original: 'a' });
    for (let boot = 0; boot < 200 && machine.active(); boot++) {
      await machine.resume();
      await machine.run().catch((error) => { if (!(error instanceof PowerLoss)) throw error; });
    }
    expect(machine.active()).toBe(false);
    expect(machine.record()?.state).toBe('failed'); // the job is given up; the device keeps running its old image
  });

  it('an event the state has no transition for is a typed error, and the job stays where it was', async () => {
    const store = await newMedium().open();
    const device = new FakeAb();
    const handlers = { ...handlersFor(device), downloading: async () => ({ event: 'committed' as const }) };
    const machine = new StateMachine({ table: updateFlow, handlers, store, key: 'job' });
    await machine.start({ target: 'b', original: 'a' });
    await expect(machine.run()).rejects.toBeInstanceOf(UnhandledEventError);
    expect(machine.record()?.state).toBe('downloading');
  });

  it('refuses to start a second job over an unfinished one, and clear() forgets a finished one', async () => {
    const store = await newMedium().open();
    const device = new FakeAb();
    device.downloadFails = true;
    const machine = new StateMachine({ table: updateFlow, handlers: handlersFor(device), store, key: 'job' });
    await machine.start({ target: 'b', original: 'a' });
    await expect(machine.start({ target: 'b', original: 'a' })).rejects.toThrow(/in progress/);
    expect((await machine.run()).state).toBe('failed');
    await machine.start({ target: 'b', original: 'a' }); // a finished job may be replaced
    await machine.clear();
    expect(machine.record()).toBeUndefined();
  });

  it('stops between states when aborted', async () => {
    const store = await newMedium().open();
    const device = new FakeAb();
    const { createAbort } = await import('../../agent/util/abort.ts');
    const abort = createAbort();
    const handlers = { ...handlersFor(device), activating: async () => { abort.abort(); return { event: 'activated' as const }; } };
    const machine = new StateMachine({ table: updateFlow, handlers, store, key: 'job' });
    await machine.start({ target: 'b', original: 'a' });
    const outcome = await machine.run({ signal: abort.signal });
    expect(outcome).toMatchObject({ kind: 'stopped', state: 'rebooting' });
  });
});

describe('effects', () => {
  it('commits a handler\'s store writes atomically with entering the next state', async () => {
    const { putOp } = await import('../../agent/store/index.ts');
    const handlersWithEffect = (device: FakeAb) => ({
      ...handlersFor(device),
      reportingSuccess: async () => ({ event: 'reported' as const, effects: [putOp('firmware/installed', { slot: 'b' })] }),
    });
    // A power cut at each write of the run: the effect is visible exactly when the job is final.
    let checked = 0;
    for (let n = 1; n < 60; n++) {
      const device = new FakeAb();
      const handlers = handlersWithEffect(device);
      const m = newMedium();
      const store = await m.open();
      const machine = new StateMachine({ table: updateFlow, handlers, store, key: 'job' });
      m.power.cutAfter(n);
      let cut = false;
      try {
        await machine.start({ target: 'b', original: 'a' });
        for (let boot = 0; boot < 5; boot++) {
          const outcome = await machine.run();
          if (outcome.kind === 'final') break;
          device.boot();
          await machine.resume();
        }
      } catch (error) {
        if (!(error instanceof PowerCutError)) throw error;
        cut = true;
      }
      m.power.cancel();
      m.power.restore();
      const reopened = await m.open();
      const after = new StateMachine({ table: updateFlow, handlers, store: reopened, key: 'job' });
      const final = after.record()?.state === 'succeeded';
      expect(reopened.has('firmware/installed'), `cut ${n}`).toBe(final);
      checked++;
      if (!cut) break;
    }
    expect(checked).toBeGreaterThan(3);
  });
});
