/**
 * The agent checks its config with `loadConfig` (agent/config-base.ts), which imports the module
 * of each section the config has and no other: a board running one family never holds the other
 * families' schemas. It must say exactly what the synchronous `parseConfig` (the CLI's) says, and
 * the build must keep the sections' modules out of the core that every board loads.
 */
import { build, type Metafile } from 'esbuild';
import { describe, expect, it, vi } from 'vitest';
import { agentBuildOptions } from '../../scripts/agent-bundle.ts';

const SECTIONS = {
  trust: '../../agent/trust/config.ts',
  push: '../../agent/push/config.ts',
  delivery: '../../agent/delivery/config.ts',
  firmware: '../../agent/firmware/config.ts',
  omadm: '../../agent/omadm/config.ts',
} as const;

/** Fresh modules, each section's module recording when it is imported. */
async function freshLoader() {
  vi.resetModules();
  const imported: string[] = [];
  for (const [name, path] of Object.entries(SECTIONS))
    vi.doMock(path, async (importOriginal) => {
      imported.push(name);
      return importOriginal();
    });
  const { loadConfig, ConfigError } = await import('../../agent/config-base.ts');
  return { loadConfig, ConfigError, imported };
}

const account = { id: 'a', serverId: 'srv', addr: 'https://dm.test/dm', authPref: 'BASIC', client: { name: 'c', secret: 's' }, server: { name: 'srv', secret: 't' } };
const service = { internal: 'https://in.test/u', external: 'https://ex.test/u' };

describe('loadConfig imports only the sections the config has', () => {
  it('a delivery config imports the trust and delivery sections, not firmware, omadm or push', async () => {
    const { loadConfig, imported } = await freshLoader();
    const config = await loadConfig({ trust: { allowUnsigned: true }, delivery: { manager: 'https://m.test' } });
    expect(config.delivery).toMatchObject({ manager: 'https://m.test', redirectMaxFailedPolls: 3 });
    expect(imported.sort()).toEqual(['delivery', 'trust']);
  });

  it('a config without sections imports none; one with every section imports each', async () => {
    const first = await freshLoader();
    expect(await first.loadConfig({ logLevel: 'warn', users: ['u1'] })).toEqual({ engine: 'auto', logLevel: 'warn', users: ['u1'] });
    expect(first.imported).toEqual([]);
    const second = await freshLoader();
    const config = await second.loadConfig({ trust: { allowUnsigned: true }, push: { mqtt: { url: 'mqtt://b:1883' } }, delivery: { manager: 'https://m.test' }, firmware: { service }, omadm: { accounts: [account] } });
    expect(second.imported.sort()).toEqual(['delivery', 'firmware', 'omadm', 'push', 'trust']);
    expect(Object.keys(config)).toEqual(['engine', 'logLevel', 'users', 'trust', 'push', 'delivery', 'firmware', 'omadm']);
  });

  it('a bad top-level key is refused before any section is imported', async () => {
    const { loadConfig, ConfigError, imported } = await freshLoader();
    await expect(loadConfig({ delivery: { manager: 'https://m.test' }, colour: 1 })).rejects.toThrow(ConfigError);
    expect(imported).toEqual([]);
  });
});

describe('loadConfig says what parseConfig says', () => {
  const inputs: unknown[] = [
    {},
    null,
    [],
    { engine: 'gpu' },
    { users: ['has space'] },
    { colour: 'blue' },
    { delivery: { manager: 'https://m.test' } },
    { trust: {}, delivery: { manager: 'https://m.test' } },
    { trust: { allowUnsigned: true, root: '{}' } },
    { trust: { allowUnsigned: true }, delivery: { manager: 'http://m.test' } },
    { trust: { allowUnsigned: true }, delivery: { manager: 'http://m.test', allowInsecure: true, download: { maxAttempts: 7 }, redirectMaxFailedPolls: 9 } },
    { trust: { allowUnsigned: true }, firmware: { idleRebootMs: -1 } },
    { trust: { allowUnsigned: true }, firmware: { service, download: { checkpointMs: 5 }, healthCheck: { command: 'true' } } },
    { trust: { allowUnsigned: true }, firmware: { service: { ...service, internal: 'http://in.test/u' } } },
    { trust: { allowUnsigned: true }, omadm: {} },
    { trust: { allowUnsigned: true }, omadm: { accounts: [account], download: { timeoutMs: 500 } } },
    { trust: { allowUnsigned: true }, omadm: { accounts: [{ ...account, addr: 'http://u:pw-secret@dm.test/dm' }] } },
    { push: { mqtt: { url: 'http://broker' } } },
    { push: { mqtt: { url: 'mqtt://b:1883', topicPrefix: 'x/' } }, delivery: { manager: 'ftp://x' } },
    // The first bad section in the fixed order (trust, push, families) is the one reported.
    { trust: { allowUnsigned: 1 }, push: { mqtt: {} }, firmware: { colour: 1 }, delivery: { manager: 1 } },
    { push: { mqtt: {} }, omadm: { accounts: 1 }, delivery: { manager: 1 } },
  ];

  it.each(inputs.map((input) => [JSON.stringify(input), input]))('%s', async (_, input) => {
    const { parseConfig } = await import('../../agent/config.ts');
    const { loadConfig } = await import('../../agent/config-base.ts');
    let expected: { value?: unknown; error?: string };
    try {
      expected = { value: parseConfig(input) };
    } catch (error) {
      expected = { error: `${(error as Error).name}: ${(error as Error).message}` };
    }
    const actual = await loadConfig(input).then(
      (value) => ({ value }),
      (error: Error) => ({ error: `${error.name}: ${error.message}` }),
    );
    expect(actual).toEqual(expected);
  });
});

describe("the build keeps each family's config in the family's chunk", () => {
  it("every board's core holds no family's config module; a family's chunk reaches its own", async () => {
    const result = await build({ ...agentBuildOptions, outdir: 'dist', write: false, logLevel: 'silent' });
    const outputs = (result.metafile as Metafile).outputs;
    const closure = (start: string, seen = new Set<string>()): Set<string> => {
      if (seen.has(start)) return seen;
      seen.add(start);
      for (const imported of outputs[start]?.imports ?? []) if (imported.kind === 'import-statement') closure(imported.path, seen);
      return seen;
    };
    const sources = (chunks: Set<string>) => new Set([...chunks].flatMap((chunk) => Object.keys(outputs[chunk]!.inputs)));
    const byEntry = (source: string) => Object.keys(outputs).find((path) => outputs[path]!.entryPoint === source)!;
    const core = sources(closure(byEntry('agent/index.ts')));
    for (const only of ['agent/delivery/config.ts', 'agent/delivery/redirect.ts', 'agent/firmware/config.ts', 'agent/firmware/messages.ts', 'agent/omadm/config.ts', 'agent/families/download-config.ts', 'agent/families/schedule-config.ts', 'agent/board-schema.ts'])
      expect(core.has(only), only).toBe(false);
    expect(core.has('agent/config-base.ts')).toBe(true);
    expect(core.has('agent/config.ts')).toBe(false); // the synchronous parser imports every section
    for (const family of ['delivery', 'firmware', 'omadm']) {
      // The family's config module comes with the family's chunk (agent/families/registry.ts), and no other family's does.
      const own = sources(closure(byEntry(`agent/${family}/family.ts`)));
      expect(own.has(`agent/${family}/config.ts`)).toBe(true);
      for (const other of ['delivery', 'firmware', 'omadm']) if (other !== family) expect(own.has(`agent/${other}/config.ts`), `${family} reaches ${other}'s config`).toBe(false);
    }
  }, 60_000);
});
