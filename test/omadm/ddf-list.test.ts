/**
 * Node descriptions (ddf.ts), Get ?list=Struct|StructData|TNDS (list.ts) and MaxObjSize on
 * incoming large objects (large-object.ts), through the DPU against a seeded tree.
 */
import { describe, expect, it } from 'vitest';
import { policyInteraction } from '../../agent/omadm/alerts.ts';
import { CommandProcessor } from '../../agent/omadm/commands.ts';
import { type Csp, interior, leaf } from '../../agent/omadm/csp/api.ts';
import { describeInterior, describeLeaf, ZERO_OR_MORE, ZERO_OR_ONE } from '../../agent/omadm/ddf.ts';
import { FumoManager } from '../../agent/omadm/fumo/manager.ts';
import type { Command, Item, ItemCommand, Results } from '../../agent/syncml/model.ts';
import { newMedium, seededTree } from './support.ts';

function item(uri: string, data?: string, meta?: Item['meta'], extra: Partial<Item> = {}): Item {
  return { target: { locURI: uri }, ...(data === undefined ? {} : { data }), ...(meta ? { meta } : {}), ...extra };
}
function cmd(name: ItemCommand['cmd'], id: number, ...items: Item[]): ItemCommand {
  return { cmd: name, cmdID: String(id), items };
}

/** A vendor CSP with a DDF: up to two `<x>` profiles, each with a mandatory int Level and an optional text Note. */
const vendor: Csp = {
  root: 'Vendor',
  seed: () => [interior('Vendor', 'Add=*&Delete=*&Get=*&Replace=*')],
  describe: () =>
    describeInterior(['Get'], {
      '*': describeInterior(['Add', 'Delete', 'Get'], { Level: describeLeaf(['Add', 'Get', 'Replace'], 'int'), Note: describeLeaf(['Add', 'Get', 'Replace', 'Delete'], 'chr', ZERO_OR_ONE, ['text/plain']) }, [0, 2]),
    }),
};

async function setup(options: { maxObjSize?: number; serverId?: string } = {}) {
  const store = await newMedium().open();
  const fumo = new FumoManager({ store, pipeline: { start: async () => undefined, release: async () => undefined } });
  const { tree, csps } = await seededTree(store, [vendor, fumo.csp()]);
  const processor = new CommandProcessor({ tree, csps, serverId: options.serverId ?? 'srv1', ui: policyInteraction('accept'), ...(options.maxObjSize ? { maxObjSize: options.maxObjSize } : {}) });
  const run = async (...commands: Command[]) => processor.run(commands, '1');
  const codes = async (...commands: Command[]) => (await run(...commands)).filter((r) => r.cmd === 'Status').map((s) => `${s.refCmd}:${s.data}`);
  return { tree, run, codes };
}

describe('node descriptions (DDF checks)', () => {
  it('the root takes only the CSPs\' roots: an unknown top-level node is 405, and then simply absent (404)', async () => {
    const { codes, tree } = await setup();
    expect(await codes(cmd('Add', 1, item('./Test/MyApp/Leaf', '1.5', { format: 'float' })), cmd('Replace', 2, item('./Test/MyApp/Leaf', '2')), cmd('Get', 3, item('./Test')))).toEqual(['Add:405', 'Replace:404', 'Get:404']);
    expect(tree.committed('Test')).toBeUndefined();
    // A CSP without a description keeps its subtree open (the test areas of support.ts).
    expect(await codes(cmd('Add', 4, item('./App/Any/Thing', 'x')))).toEqual(['Add:200']);
  });

  it('unlisted children 405, formats and types 415, AccessType 405, occurrence limits 405', async () => {
    const { codes, tree } = await setup();
    expect(
      await codes(
        cmd('Add', 1, item('./Vendor/p1/Level', '3', { format: 'int' })), // creates <x> p1 on the way
        cmd('Add', 2, item('./Vendor/p1/Colour', 'red')), // not in the DDF
        cmd('Add', 3, item('./Vendor/p1/Note', 'hi', { format: 'int' })), // Note is chr
        cmd('Add', 4, item('./Vendor/p1/Note', 'hi', { format: 'chr', type: 'image/png' })), // Note is text/plain
        cmd('Add', 5, item('./Vendor/p1/Note', 'hi', { format: 'chr', type: 'text/plain' })),
        cmd('Replace', 6, item('./Vendor/p1/Level', 'x', { format: 'chr' })), // Level is int
        cmd('Add', 7, item('./Vendor/p2/Level', '1', { format: 'int' })),
        cmd('Add', 8, item('./Vendor/p3', undefined, { format: 'node' })), // at most two <x>
        cmd('Delete', 9, item('./Vendor/p1/Level')), // Level: One, and no Delete in its AccessType
        cmd('Delete', 10, item('./Vendor/p1/Note')), // ZeroOrOne: may go
      ),
    ).toEqual(['Add:200', 'Add:405', 'Add:415', 'Add:415', 'Add:200', 'Replace:415', 'Add:200', 'Add:405', 'Delete:405', 'Delete:200']);
    expect(tree.committed('Vendor/p1/Level')?.value).toBe('3');
    expect(tree.committed('Vendor/p3')).toBeUndefined();
  });

  it('the ACL comes first (425); past it, the standard objects are described: DevInfo fixed, DMAcc <x> accounts, FUMO', async () => {
    const { codes, tree } = await setup();
    expect(await codes(cmd('Add', 1, item('./DevInfo/Colour', 'red')))).toEqual(['Add:425']);
    // Open the ACLs so that only the descriptions (and the CSPs) decide.
    await tree.change((tx) => {
      for (const path of ['DevInfo', 'DMAcc', 'FUMO/1', 'FUMO/1/State']) tx.put(path, { ...tx.get(path)!, acl: 'Add=*&Delete=*&Exec=*&Get=*&Replace=*' });
    });
    expect(
      await codes(
        cmd('Add', 1, item('./DevInfo/Colour', 'red')),
        cmd('Add', 2, item('./DMAcc/srv1/Bogus', 'x')),
        cmd('Replace', 3, item('./FUMO/1/State', '50', { format: 'int' })),
        cmd('Replace', 4, item('./FUMO/1/Download/PkgURL', 'http://x/pkg', { format: 'int' })),
        cmd('Add', 5, item('./FUMO/1/Ext/Vendor', 'v')), // Ext is the open vendor area
        cmd('Add', 6, item('./DMAcc/srv2/Name', 'srv2')), // a new <x> account
      ),
    ).toEqual(['Add:405', 'Add:405', 'Replace:405', 'Replace:415', 'Add:200', 'Add:200']);
  });
});

describe('Get ?list=', () => {
  const results = (out: readonly Command[]) => out.filter((r): r is Results => r.cmd === 'Results');

  it('Struct lists the subtree (URIs, formats, no data); StructData adds the leaves\' values', async () => {
    const { run } = await setup();
    const struct = results(await run(cmd('Get', 1, item('./DevInfo?list=Struct'))))[0];
    expect(struct?.items?.map((i) => i.source?.locURI)).toEqual(['./DevInfo', './DevInfo/DevId', './DevInfo/DmV', './DevInfo/Lang', './DevInfo/Man', './DevInfo/Mod']);
    expect(struct?.items?.every((i) => i.data === undefined)).toBe(true);
    expect(struct?.items?.[1]?.meta).toMatchObject({ format: 'chr' });
    const data = results(await run(cmd('Get', 2, item('./DevInfo?list=StructData'))))[0];
    expect(data?.items?.find((i) => i.source?.locURI === './DevInfo/Man')).toMatchObject({ data: 'Acme', meta: { format: 'chr', size: '4' } });
    expect(data?.items?.[0]?.data).toBeUndefined(); // interior: no value
  });

  it('never lists what a Get would refuse: DMAcc secrets stay out of StructData and TNDS', async () => {
    const { run } = await setup();
    const out = await run(cmd('Get', 1, item('./DMAcc?list=StructData')), cmd('Get', 2, item('./DMAcc?list=TNDS+Value+Format+ACL')));
    const [data, tnds] = results(out);
    const uris = data?.items?.map((i) => i.source?.locURI) ?? [];
    expect(uris).toContain('./DMAcc/srv1/ServerID');
    expect(uris.some((u) => u?.endsWith('AAuthSecret') || u?.endsWith('AAuthData'))).toBe(false);
    const doc = String(tnds?.items?.[0]?.data);
    expect(tnds?.items?.[0]?.meta).toMatchObject({ format: 'xml', type: 'application/vnd.syncml.dmtnds+xml' });
    expect(doc).toMatch(/^<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2<\/VerDTD><Node><NodeName>DMAcc<\/NodeName><Path>.<\/Path>/);
    expect(doc).toContain('<NodeName>ServerID</NodeName><RTProperties><ACL></ACL><Format><chr/></Format></RTProperties><Value>srv1</Value>');
    expect(doc).not.toContain('client-secret');
    expect(doc).not.toContain('AAuthSecret');
  });

  it('unknown lists and properties are 406; ACL-denied targets 425', async () => {
    const { codes } = await setup({ serverId: 'other' });
    expect(await codes(cmd('Get', 1, item('./DevInfo?list=Everything')), cmd('Get', 2, item('./DevInfo?list=TNDS+Colour')), cmd('Get', 3, item('./DMAcc/srv1/AppAuth/1/AAuthSecret?list=Struct')))).toEqual(['Get:406', 'Get:406', 'Get:425']);
  });
});

describe('MaxObjSize on incoming large objects', () => {
  const chunk = (id: number, data: string, more: boolean, size?: string) => cmd('Add', id, item('./App/Big', data, size ? { format: 'chr', size } : undefined, more ? { moreData: true } : {}));

  it('a declared Size above MaxObjSize is 413 for every chunk of that object, nothing stored', async () => {
    const { codes, tree } = await setup({ maxObjSize: 8 });
    expect(await codes(chunk(1, 'abcd', true, '12'), chunk(2, 'efgh', true), chunk(3, 'ijkl', false))).toEqual(['Add:413', 'Add:413', 'Add:413']);
    expect(tree.committed('App/Big')).toBeUndefined();
    expect(await codes(cmd('Add', 4, item('./App/One', 'x'.repeat(9))))).toEqual(['Add:413']); // unchunked, too big
    expect(await codes(chunk(5, 'abcd', true, '8'), chunk(6, 'efgh', false))).toEqual(['Add:213', 'Add:200']);
    expect(tree.committed('App/Big')?.value).toBe('abcdefgh');
  });

  it('no Size on the first chunk: 411; chunks beyond the Size: 424 at once', async () => {
    const { codes, tree } = await setup({ maxObjSize: 64 });
    expect(await codes(chunk(1, 'abcd', true), chunk(2, 'efgh', false))).toEqual(['Add:411', 'Add:411']);
    expect(await codes(chunk(3, 'abcd', true, '6'), chunk(4, 'efgh', true), chunk(5, 'ij', false))).toEqual(['Add:213', 'Add:424', 'Add:424']);
    expect(tree.committed('App/Big')).toBeUndefined();
  });
});

// The ZERO_OR_MORE export is the DDF's ZeroOrMore; used here so a typo in ddf.ts's constants fails a test.
it('occurrence constants', () => expect(ZERO_OR_MORE).toEqual([0, Number.POSITIVE_INFINITY]));
