import { describe, expect, it } from 'vitest';
import { policyInteraction } from '../../agent/omadm/alerts.ts';
import { CommandProcessor } from '../../agent/omadm/commands.ts';
import type { Csp } from '../../agent/omadm/csp/api.ts';
import { interior, leaf } from '../../agent/omadm/csp/api.ts';
import type { Command, Item, ItemCommand } from '../../agent/syncml/model.ts';
import { newMedium, seededTree } from './support.ts';

function item(uri: string, data?: string, format?: string, extra: Partial<Item> = {}): Item {
  return { target: { locURI: uri }, ...(data === undefined ? {} : { data }), ...(format ? { meta: { format } } : {}), ...extra };
}
function cmd(name: ItemCommand['cmd'], id: number, ...items: Item[]): ItemCommand {
  return { cmd: name, cmdID: String(id), items };
}

async function setup(serverId = 'srv1', extra: Csp[] = []) {
  const store = await newMedium().open();
  const { tree, csps } = await seededTree(store, extra);
  const processor = new CommandProcessor({ tree, csps, serverId, ui: policyInteraction('accept') });
  const run = async (...commands: Command[]) => processor.run(commands, '1');
  const codes = async (...commands: Command[]) => (await run(...commands)).filter((r) => r.cmd === 'Status').map((s) => `${s.refCmd}:${s.data}`);
  return { store, tree, csps, processor, run, codes };
}

describe('command processor', () => {
  it('answers Get with a Status then Results (format, type, size); interior nodes list children', async () => {
    const { run } = await setup();
    const out = await run(cmd('Get', 1, item('./DevInfo/DevId')), cmd('Get', 2, item('./DevInfo')));
    expect(out.map((r) => r.cmd)).toEqual(['Status', 'Results', 'Status', 'Results']);
    expect(out[0]).toMatchObject({ cmdRef: '1', refCmd: 'Get', targetRefs: ['./DevInfo/DevId'], data: '200' });
    expect(out[1]).toMatchObject({ cmdRef: '1', items: [{ source: { locURI: './DevInfo/DevId' }, meta: { format: 'chr', size: '20' }, data: 'IMEI:000000011234564' }] });
    expect(out[3]?.items?.[0]).toMatchObject({ meta: { format: 'node' }, data: 'DevId/DmV/Lang/Man/Mod' });
  });

  it('reads live CSP values and ACL properties', async () => {
    const { run } = await setup();
    const out = await run(cmd('Get', 1, item('./DevDetail/FwV')), cmd('Get', 2, item('./DevInfo?prop=ACL')));
    expect(out[1]?.items?.[0]?.data).toBe('1.0.0');
    expect(out[3]?.items?.[0]?.data).toBe('Get=*');
  });

  it('checks the ACL before a CSP sees the command (425), and CSPs refuse what they own (405)', async () => {
    const seen: string[] = [];
    const spy: Csp = {
      root: 'Vendor',
      seed: () => [interior('Vendor', 'Get=srv2&Replace=srv2'), leaf('Vendor/Mode', 'a', 'chr', undefined, 'dynamic')],
      check: (op, path) => void seen.push(`${op} ${path}`),
      exec: () => {
        seen.push('exec');
        return 200;
      },
    };
    const { codes } = await setup('srv1', [spy]);
    expect(await codes(cmd('Replace', 1, item('./Vendor/Mode', 'b')), cmd('Get', 2, item('./Vendor/Mode')), { cmd: 'Exec', cmdID: '3', items: [item('./Vendor/Mode')] })).toEqual([
      'Replace:425',
      'Get:425',
      'Exec:425',
    ]);
    expect(seen).toEqual([]);
    expect(await codes(cmd('Replace', 4, item('./DevInfo/Man', 'x')))).toEqual(['Replace:425']);
    const other = await setup('srv2', [spy]);
    expect(await other.codes(cmd('Replace', 1, item('./Vendor/Mode', 'b')))).toEqual(['Replace:200']);
    expect(seen).toEqual(['Replace Vendor/Mode']);
  });

  it('adds (creating missing interior nodes), replaces, copies and deletes, with the DM status codes', async () => {
    const { codes, tree } = await setup();
    expect(
      await codes(
        cmd('Add', 1, item('./App/Cfg/Level', '3', 'int')),
        cmd('Add', 2, item('./App/Cfg/Level', '4', 'int')),
        cmd('Delete', 20, item('./App/Cfg/Level')),
        cmd('Replace', 21, item('./App?prop=ACL', 'Add=*&Delete=*&Get=*&Replace=*')),
        cmd('Replace', 22, item('./App?prop=ACL', 'Fly=*')),
        cmd('Replace', 3, item('./App/Cfg/Level', 'x', 'int')),
        cmd('Replace', 4, item('./App/Cfg/Level', '5', 'int')),
        cmd('Replace', 5, item('./App/Nope', '1')),
        cmd('Replace', 6, item('./App/Cfg', '1')),
        cmd('Copy', 7, item('./App/Copy', undefined, undefined, { source: { locURI: './App/Cfg/Level' } })),
        cmd('Add', 8, item('./App/Cfg/Level/Sub', '1')),
        cmd('Delete', 9, item('./DevInfo/DevId')),
        cmd('Delete', 10, item('./App')),
        cmd('Get', 11, item('./App/Cfg/Level')),
        cmd('Delete', 12, item('./App')),
      ),
    ).toEqual(['Add:200', 'Add:418', 'Delete:425', 'Replace:200', 'Replace:400', 'Replace:400', 'Replace:200', 'Replace:404', 'Replace:405', 'Copy:200', 'Add:405', 'Delete:425', 'Delete:200', 'Get:404', 'Delete:404']);
    expect(tree.committed('App')).toBeUndefined();
  });

  it('Atomic is all or nothing: one failing command rolls back the others in one batch (216/507)', async () => {
    const { run, tree, store } = await setup();
    let batches = 0;
    const batch = store.batch.bind(store);
    store.batch = async (ops) => {
      batches++;
      return batch(ops);
    };
    const atomic: Command = { cmd: 'Atomic', cmdID: '1', commands: [cmd('Add', 2, item('./App/A', '1')), cmd('Replace', 3, item('./App/Missing', '1')), cmd('Add', 4, item('./App/B', '1'))] };
    const out = await run(atomic);
    expect(out.map((s) => `${s.cmdRef}:${s.cmd === 'Status' ? s.data : ''}`)).toEqual(['1:507', '2:216', '3:404', '4:215']);
    expect(tree.committed('App/A')).toBeUndefined();
    expect(batches).toBe(0);
    const ok: Command = { cmd: 'Atomic', cmdID: '5', commands: [cmd('Add', 6, item('./App/A', '1')), cmd('Add', 7, item('./App/B', '2'))] };
    expect((await run(ok)).map((s) => (s.cmd === 'Status' ? s.data : ''))).toEqual(['200', '200', '200']);
    expect(batches).toBe(1);
    expect(tree.committed('App/B')?.value).toBe('2');
  });

  it('Sequence runs every command in order and keeps the successful ones', async () => {
    const { codes, tree } = await setup();
    const seq: Command = { cmd: 'Sequence', cmdID: '1', commands: [cmd('Add', 2, item('./S/A', '1')), cmd('Get', 3, item('./S/Nope')), cmd('Replace', 4, item('./S/A', '2'))] };
    expect(await codes(seq)).toEqual(['Sequence:200', 'Add:200', 'Get:404', 'Replace:200']);
    expect(tree.committed('S/A')?.value).toBe('2');
  });

  it('assembles a large object from MoreData chunks (213 until the last), checking the announced size', async () => {
    const { codes, tree } = await setup();
    const chunk = (id: number, data: string, more: boolean, size?: string) =>
      cmd('Add', id, item('./Big', data, 'chr', { ...(more ? { moreData: true } : {}), ...(size ? { meta: { format: 'chr', size } } : {}) }));
    expect(await codes(chunk(1, 'abc', true, '9'), chunk(2, 'def', true), chunk(3, 'ghi', false))).toEqual(['Add:213', 'Add:213', 'Add:200']);
    expect(tree.committed('Big')?.value).toBe('abcdefghi');
    const first = cmd('Replace', 4, item('./Big', 'ab', 'chr', { moreData: true, meta: { format: 'chr', size: '9' } }));
    expect(await codes(first, cmd('Replace', 5, item('./Big', 'c')))).toEqual([
      'Replace:213',
      'Replace:424',
    ]);
    expect(tree.committed('Big')?.value).toBe('abcdefghi');
  });

  it('answers user interaction alerts through the UI or a policy', async () => {
    const alert = (code: number, ...data: string[]): Command => ({ cmd: 'Alert', cmdID: '1', data: String(code), items: data.map((d) => ({ data: d })) });
    const accept = await setup();
    const [confirm] = await accept.run(alert(1101, 'MAXDT=15', 'Sure?'));
    expect(confirm).toMatchObject({ data: '200' });
    const [choice] = await accept.run(alert(1104, 'DR=1-3', 'Pick', 'a', 'b', 'c'));
    expect(choice?.cmd === 'Status' && choice.items?.map((i) => i.data)).toEqual(['1', '3']);
    const store = await newMedium().open();
    const { tree, csps } = await seededTree(store);
    const reject = new CommandProcessor({ tree, csps, serverId: 'srv1', ui: policyInteraction('reject') });
    expect((await reject.run([alert(1101, '', 'Sure?')], '1'))[0]).toMatchObject({ data: '304' });
    const timeout = new CommandProcessor({ tree, csps, serverId: 'srv1', ui: policyInteraction('timeout') });
    expect((await timeout.run([alert(1102, 'DR=hello', 'Name?')], '1'))[0]).toMatchObject({ data: '408', items: [{ data: 'hello' }] });
  });
});
