/**
 * The policy: the agent trusts only signed updates. Any protocol section needs the `trust`
 * section (a root of trust, checked at start against its own keys) or the explicit opt-out,
 * which the agent logs; `dm-agent run` reads `rootFile` relative to the config file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../agent/config.ts';
import { createAgent } from '../../agent/index.ts';
import { utf8Decode } from '../../agent/util/bytes.ts';
import { MockHardware, mockOptionsFromBoard } from '../../hal/mock/index.ts';
import { createNodeSignatureHost } from '../../hal/node/signatures.ts';
import { main } from '../../cli/main.ts';
import { sim } from '../e2e/harness.ts';
import { TestRepo } from './fixture.ts';

const delivery = { manager: 'https://m.example' };

describe('the trust section', () => {
  it('is required with any protocol section, and names the way out', () => {
    expect(() => parseConfig({ delivery })).toThrow(ConfigError);
    expect(() => parseConfig({ delivery })).toThrow(/trust: missing.*allowUnsigned/);
    expect(() => parseConfig({ omadm: { accounts: [] } })).toThrow(/trust|omadm/);
    expect(parseConfig({ logLevel: 'warn' }).trust).toBeUndefined(); // nothing installs: nothing to trust
  });

  it('takes a root (JSON or its text) checked against its own keys, or the opt-out, never both', () => {
    const repo = new TestRepo();
    const text = utf8Decode(repo.rootBytes());
    const fromText = parseConfig({ trust: { root: text, metadataUrl: 'https://tuf.example/metadata/' }, delivery }).trust;
    expect(fromText).toMatchObject({ allowUnsigned: false, metadataUrl: 'https://tuf.example/metadata/', requestTimeoutMs: 30_000 });
    expect(parseConfig({ trust: { root: JSON.parse(text) }, delivery }).trust).toMatchObject({ allowUnsigned: false });
    expect(parseConfig({ trust: { allowUnsigned: true }, delivery }).trust).toEqual({ allowUnsigned: true });
    expect(() => parseConfig({ trust: { root: text, allowUnsigned: true }, delivery })).toThrow(/not both/);
    expect(() => parseConfig({ trust: {}, delivery })).toThrow(/trust\.root: missing/);
    expect(() => parseConfig({ trust: { root: 5 }, delivery })).toThrow(/trust\.root: expected the root metadata/);
    expect(() => parseConfig({ trust: { root: ['x'] }, delivery })).toThrow(/trust\.root/);
    expect(() => parseConfig({ trust: { root: text, rootUrl: 'x' }, delivery })).toThrow(/trust\.rootUrl: unknown key/);
  });

  it('a root that is not root metadata is refused when the agent starts (the parser loads with the signed-metadata chunk)', async () => {
    // parseConfig checks the shape only: the metadata parser is not part of what every board loads.
    expect(parseConfig({ trust: { root: '{"signed": 1}' }, delivery }).trust).toMatchObject({ allowUnsigned: false });
    const hardware = new MockHardware({ ...mockOptionsFromBoard(sim), identity: { deviceId: 'malformed-1' } });
    for (const root of ['{"signed": 1}', 'not json', { signed: { _type: 'targets' }, signatures: [] }]) {
      const refused = await createAgent(hardware.boot(), sim, { engine: 'js', trust: { root }, delivery }).then(() => undefined, (e: unknown) => e);
      expect(refused).toBeInstanceOf(ConfigError);
      expect(String(refused)).toMatch(/trust\.root: not a valid root: /);
    }
  });

  it.each([
    { verifier: 'js', signatures: undefined },
    { verifier: 'native', signatures: createNodeSignatureHost() },
  ])('a root whose signatures do not hold is refused when the agent starts ($verifier verifier)', async ({ verifier, signatures }) => {
    const repo = new TestRepo();
    const forged = JSON.parse(utf8Decode(repo.rootBytes()));
    forged.signed.version = 7; // the signature no longer covers it
    expect(parseConfig({ trust: { root: forged }, delivery }).trust).toMatchObject({ allowUnsigned: false }); // the shape is right
    const boot = () => new MockHardware({ ...mockOptionsFromBoard(sim), identity: { deviceId: 'forged-1' }, ...(signatures ? { signatures } : {}) }).boot();
    await expect(createAgent(boot(), sim, { engine: 'js', trust: { root: forged }, delivery })).rejects.toThrow(/trust\.root: not a valid root: badSignature/);
    const agent = await createAgent(boot(), sim, { trust: { root: utf8Decode(repo.rootBytes()) }, delivery });
    expect(agent.boot.verifier).toBe(verifier);
    await agent.close();
  });

  it('the opt-out is logged at start', async () => {
    const hardware = new MockHardware({ ...mockOptionsFromBoard(sim), identity: { deviceId: 'unsigned-1' } });
    const agent = await createAgent(hardware.boot(), sim, { engine: 'js', trust: { allowUnsigned: true }, delivery });
    expect(hardware.logs.some((l) => l.level === 'warn' && /allowUnsigned/.test(l.message))).toBe(true);
    await agent.close();
  });

  it('dm-agent run reads trust.rootFile relative to the config file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dm-trust-cfg-'));
    try {
      const repo = new TestRepo();
      await writeFile(join(dir, '1.root.json'), repo.rootBytes());
      await writeFile(join(dir, 'good.json'), JSON.stringify({ trust: { rootFile: '1.root.json' }, delivery }));
      await writeFile(join(dir, 'missing.json'), JSON.stringify({ trust: { rootFile: 'nope.json' }, delivery }));
      const err: string[] = [];
      const io = { stdout: () => undefined, stderr: (t: string) => void err.push(t) };
      const run = (config: string) => main(['run', '--board', 'boards/sim.json', '--config', join(dir, config), '--work-dir', join(dir, 'work'), '--info'], io);
      expect(await run('missing.json')).toBe(2);
      expect(err.join('')).toContain('nope.json');
      expect(await run('good.json')).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
