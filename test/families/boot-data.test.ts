/**
 * What the agent keeps from boot on (issue 16: a QuickJS heap holds it through every download):
 *  - the board's `pkgdb` partition holds the installed-package DB, which only the pull-model family
 *    keeps (`packages` in agent/families/registry.ts): an agent running other families never opens
 *    it (no store, partition bridge or boot scan of it);
 *  - the board profile is kept as its JSON text: `agent.board` is the parsed profile, a fresh copy
 *    on each read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseBoard } from '../../agent/board.ts';
import { type Agent, createAgent } from '../../agent/index.ts';
import { FAMILIES } from '../../agent/families/registry.ts';
import type { FlashOpenOptions } from '../../hal/types.ts';
import { MockHardware, VirtualClock, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { createMockNetwork } from '../../hal/mock/net.ts';
import { sim } from '../e2e/harness.ts';

const account = { id: 'srv1', serverId: 'srv1', addr: 'https://dm.test/dm', authPref: 'DIGEST', client: { name: 'dev-1', secret: 'c-secret' }, server: { name: 'srv1', secret: 's-secret' } };
const SECTIONS = {
  omadm: { omadm: { accounts: [account], udpPort: 0, retries: 0, schedule: { jitterMs: 0, onBoot: false } } },
  firmware: { firmware: { service: { internal: 'https://in.test/u', external: 'https://ex.test/u' }, schedule: { jitterMs: 0, onBoot: false } } },
  delivery: { delivery: { manager: 'https://m.test' } },
};

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

/** Boots an agent on the sim board (which has a pkgdb partition), listing the partitions it opens. */
async function boot(sections: object): Promise<{ agent: Agent; partitions: string[] }> {
  const clock = new VirtualClock(Date.UTC(2026, 0, 5, 8, 0, 0));
  const network = createMockNetwork({ clock: clock.scope().clock });
  const hardware = new MockHardware({ ...mockOptionsFromBoard(sim), clock, network, identity: { deviceId: 'dev-1', model: 'M1', hardwareId: 'hw-1', firmwareVersion: '1.0.0' } });
  hardware.boot();
  await hardware.booted;
  const device = hardware.device!;
  const partitions: string[] = [];
  const open = device.flash.open.bind(device.flash);
  device.flash.open = async (options: FlashOpenOptions) => {
    partitions.push(options.partition);
    return open(options);
  };
  const agent = await createAgent(device, sim, { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, ...sections } as never);
  cleanup = async () => void (await agent.close());
  return { agent, partitions };
}

async function opened(sections: object): Promise<{ partitions: string[]; separateDb: boolean | undefined }> {
  const { agent, partitions } = await boot(sections);
  return { partitions, separateDb: agent.delivery ? agent.delivery.db.store !== agent.store : undefined };
}

describe('the package DB store', () => {
  it('only the pull-model family keeps packages', () => {
    expect(FAMILIES.filter((entry) => entry.packages).map((entry) => entry.name)).toEqual(['delivery']);
  });

  it('an OMA DM agent never opens the pkgdb partition', async () => {
    expect((await opened(SECTIONS.omadm)).partitions).toEqual(['state']);
  });

  it('a firmware agent never opens the pkgdb partition', async () => {
    expect((await opened(SECTIONS.firmware)).partitions).toEqual(['state']);
  });

  it('a pull-model agent keeps its package DB in the pkgdb partition', async () => {
    expect(await opened(SECTIONS.delivery)).toEqual({ partitions: ['state', 'pkgdb'], separateDb: true });
  });

  it('with the pull-model family next to another one, the pkgdb store is opened once', async () => {
    expect(await opened({ ...SECTIONS.omadm, ...SECTIONS.delivery })).toEqual({ partitions: ['state', 'pkgdb'], separateDb: true });
  });
});

describe('the board profile', () => {
  it('agent.board is the parsed profile, a fresh copy on each read; info() names the board', async () => {
    const { agent } = await boot(SECTIONS.omadm);
    expect(agent.board).toEqual(parseBoard(sim));
    expect(agent.board.downloadChunkBytes).toBeGreaterThan(0); // the defaults parseBoard fills in are there
    const copy = agent.board;
    copy.name = 'changed';
    copy.partitions.length = 0;
    expect(agent.board).toEqual(parseBoard(sim));
    expect(agent.info().board).toBe(sim.name);
  });
});
