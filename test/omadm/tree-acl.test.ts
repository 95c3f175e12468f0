import { describe, expect, it } from 'vitest';
import { aclAllows, formatAcl, parseAcl } from '../../agent/omadm/acl.ts';
import { DmStatusError } from '../../agent/omadm/errors.ts';
import { DmTree, normalizePath, TREE_PREFIX } from '../../agent/omadm/tree.ts';
import { newMedium } from './support.ts';

describe('ACL', () => {
  it('parses commands and server lists, formats them back, checks servers and *', () => {
    const acl = parseAcl('Add=*&Get=*&Replace=srv1+srv2&Exec=srv3');
    expect(acl).toEqual({ Add: ['*'], Get: ['*'], Replace: ['srv1', 'srv2'], Exec: ['srv3'] });
    expect(formatAcl(acl)).toBe('Add=*&Exec=srv3&Get=*&Replace=srv1+srv2');
    expect(aclAllows(acl, 'Replace', 'srv2')).toBe(true);
    expect(aclAllows(acl, 'Replace', 'srv3')).toBe(false);
    expect(aclAllows(acl, 'Get', 'anyone')).toBe(true);
    expect(aclAllows(acl, 'Delete', 'srv1')).toBe(false);
    expect(parseAcl('')).toEqual({});
  });

  it('refuses unknown commands and empty server ids with 400', () => {
    for (const bad of ['Fly=*', 'Get=srv1+', 'Get=']) {
      expect(() => parseAcl(bad)).toThrow(DmStatusError);
      try {
        parseAcl(bad);
      } catch (error) {
        expect((error as DmStatusError).status).toBe(400);
      }
    }
  });
});

describe('DM tree', () => {
  it('normalizes URIs and refuses malformed ones', () => {
    expect(normalizePath('./A/B/')).toBe('A/B');
    expect(normalizePath('.')).toBe('');
    expect(normalizePath('A/B?prop=ACL')).toBe('A/B');
    for (const bad of ['./A//B', './A/../B', './A/./B']) expect(() => normalizePath(bad)).toThrow(DmStatusError);
  });

  it('inherits the ACL of the nearest ancestor, the root default at the top', async () => {
    const store = await newMedium().open();
    const tree = DmTree.open(store);
    await tree.change((tx) => {
      tx.put('A', { leaf: false, format: 'node', scope: 'dynamic', acl: 'Get=srv1' });
      tx.put('A/B', { leaf: false, format: 'node', scope: 'dynamic' });
      tx.put('A/B/C', { leaf: true, format: 'chr', scope: 'dynamic', value: 'x' });
      tx.put('Z', { leaf: true, format: 'chr', scope: 'dynamic', value: 'z' });
    });
    const tx = tree.begin();
    expect(tx.effectiveAcl('A/B/C')).toEqual({ Get: ['srv1'] });
    expect(tx.effectiveAcl('Z')).toEqual({ Add: ['*'], Get: ['*'], Replace: ['*'] });
    expect(tx.children('')).toEqual(['A', 'Z']);
    expect(tx.children('A')).toEqual(['B']);
  });

  it('commits a transaction as one batch, persists across reopen, and a dropped one changes nothing', async () => {
    const medium = newMedium();
    const store = await medium.open();
    const tree = DmTree.open(store);
    const tx = tree.begin();
    tx.put('A', { leaf: false, format: 'node', scope: 'dynamic' });
    tx.put('A/x', { leaf: true, format: 'int', scope: 'dynamic', value: '1' });
    expect(tx.get('A/x')?.value).toBe('1');
    expect(tree.committed('A/x')).toBeUndefined();
    let batches = 0;
    const batch = store.batch.bind(store);
    store.batch = async (ops) => {
      batches++;
      return batch(ops);
    };
    await tx.commit();
    expect(batches).toBe(1);
    const dropped = tree.begin();
    dropped.remove('A');
    expect(dropped.has('A/x')).toBe(false);
    expect(tree.committed('A/x')?.value).toBe('1');
    await store.close();
    const again = DmTree.open(await medium.open());
    expect(again.committed('A/x')).toMatchObject({ format: 'int', value: '1' });
    expect(again.begin().children('')).toEqual(['A']);
  });

  it('drops a damaged node record instead of using it', async () => {
    const medium = newMedium();
    const store = await medium.open();
    await store.put(`${TREE_PREFIX}Bad`, new Uint8Array([0xff, 0x00]));
    const damaged: string[] = [];
    const tree = DmTree.open(store, (path) => damaged.push(path));
    expect(damaged).toEqual(['Bad']);
    expect(tree.committed('Bad')).toBeUndefined();
  });
});
