/**
 * Which modules the QuickJS guest loads: every module the host's loader serves goes through the
 * (cached) GuestCode.module (hal/quickjs/loader.ts), so wrapping it records their names.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach } from 'vitest';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { QuickJsHost } from '../../hal/quickjs/index.ts';
import { type GuestCode, loadGuestCode } from '../../hal/quickjs/bundle.ts';

const small = JSON.parse(await readFile(new URL('../../boards/quickjs-small.json', import.meta.url), 'utf8'));

/** Call at the top of a suite: `modulesLoaded(config)` starts and closes an agent in a fresh guest and answers the modules it loaded, in order. */
export async function guestModules(): Promise<{ code: GuestCode; modulesLoaded(config: object, deviceId?: string): Promise<string[]> }> {
  const code = await loadGuestCode();
  const served = code.module.bind(code);
  let requested: string[] = [];
  code.module = (name) => {
    requested.push(name);
    return served(name);
  };
  afterAll(() => {
    code.module = served;
  });
  const hosts: QuickJsHost[] = [];
  afterEach(() => {
    for (const host of hosts.splice(0)) host.dispose();
  });
  return {
    code,
    async modulesLoaded(config, deviceId = 'guest-modules') {
      requested = [];
      const host = await QuickJsHost.create({ budgetBytes: small.memoryBudgetBytes });
      hosts.push(host);
      const hardware = new MockHardware({ ...mockOptionsFromBoard(small), identity: { deviceId } });
      const agent = await host.start(hardware.boot(), small, { logLevel: 'error', ...config });
      await host.guarded(agent.close());
      return [...new Set(requested)];
    },
  };
}

/** Records the names of the modules the guest's loader serves from now on; `cleanups` restores the loader. */
export async function watchGuestModules(cleanups: Array<() => unknown>): Promise<string[]> {
  const code = await loadGuestCode();
  const requested: string[] = [];
  const read = code.module;
  code.module = (name) => (requested.push(name), read(name));
  cleanups.push(() => (code.module = read));
  return requested;
}
