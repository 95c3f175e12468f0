/**
 * The shared HAL suites through the QuickJS bridge: the mock HAL lives on the host, the guest gets
 * it through host functions and hands its view back (QuickJsHost.mirror), so every call the suites
 * make crosses into QuickJS and back — arguments, bytes, callbacks, promises and typed errors.
 */
import { afterAll, beforeAll } from 'vitest';
import { QuickJsHost, guestView } from '../../hal/quickjs/host.ts';
import type { Device } from '../../hal/types.ts';
import type { HalFixture, HalTarget } from '../shared/hal/fixture.ts';
import { describeHalSuites } from '../shared/hal/index.ts';
import { mockFixture } from '../shared/hal/mock-fixture.ts';

let host: QuickJsHost;
beforeAll(async () => {
  host = await QuickJsHost.create({ budgetBytes: 64 * 1024 * 1024 });
});
afterAll(() => host.dispose());

function bridged(inner: HalTarget): HalTarget {
  const views = new WeakMap<Device, Device>();
  const view = (device: Device): Device => {
    let mirrored = views.get(device);
    if (!mirrored) views.set(device, (mirrored = host.mirror(guestView(device))));
    return mirrored;
  };
  const power = inner.power;
  return {
    get device() {
      return view(inner.device);
    },
    reboot: async () => view(await inner.reboot()),
    elapse: (ms) => inner.elapse(ms),
    logs: () => inner.logs(),
    activity: () => inner.activity(),
    signIn: (name, password) => inner.signIn(name, password),
    setLocation: (location) => inner.setLocation(location),
    ...(power
      ? {
          power: {
            cutAfter: (n: number) => power.cutAfter(n),
            cancel: () => power.cancel(),
            get operations() {
              return power.operations;
            },
            get isCut() {
              return power.isCut;
            },
            powerCycle: async () => view(await power.powerCycle()),
          },
        }
      : {}),
    dispose: () => inner.dispose(),
  };
}

const fixture: HalFixture = {
  ...mockFixture,
  name: 'quickjs bridge (mock HAL on the host)',
  create: async (options) => bridged(await mockFixture.create(options)),
};

describeHalSuites(fixture);
