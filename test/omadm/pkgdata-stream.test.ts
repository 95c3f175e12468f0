/**
 * FUMO Update/PkgData as a large object through the DPU: the chunks are streamed into the
 * PkgDataStore as they arrive (memory holds one chunk, never the package), base64 decoded across
 * chunk boundaries, and a refused or abandoned object leaves no package behind.
 */
import { describe, expect, it } from 'vitest';
import { policyInteraction } from '../../agent/omadm/alerts.ts';
import { CommandProcessor } from '../../agent/omadm/commands.ts';
import { FumoManager } from '../../agent/omadm/fumo/manager.ts';
import type { PkgDataStore } from '../../agent/omadm/fumo/pkgdata.ts';
import type { ItemCommand } from '../../agent/syncml/model.ts';
import { concatBytes } from '../../agent/util/bytes.ts';
import { newMedium, seededTree } from './support.ts';

/** A PkgDataStore in memory that records how it was fed. */
function recordingStore() {
  const packages = new Map<string, Uint8Array>();
  const log: string[] = [];
  const store: PkgDataStore = {
    async put(x, bytes) {
      log.push(`put ${bytes.length}`);
      packages.set(x, bytes);
      return bytes.length;
    },
    async writer(x, reserve) {
      log.push(`writer ${reserve}`);
      const parts: Uint8Array[] = [];
      packages.delete(x);
      return {
        append: async (bytes) => void (log.push(`append ${bytes.length}`), parts.push(bytes.slice())),
        end: async () => void (log.push('end'), packages.set(x, concatBytes(parts))),
        abort: async () => void log.push('abort'),
      };
    },
    size: async (x) => packages.get(x)?.length,
    remove: async (x) => void packages.delete(x),
  };
  return { store, packages, log };
}

async function setup(maxObjSize = 1 << 20) {
  const medium = await newMedium().open();
  const recorded = recordingStore();
  const fumo = new FumoManager({ store: medium, pipeline: { start: async () => undefined, release: async () => undefined }, pkgData: recorded.store });
  const { tree, csps } = await seededTree(medium, [fumo.csp()]);
  const processor = new CommandProcessor({ tree, csps, serverId: 'srv1', ui: policyInteraction('accept'), maxObjSize });
  const codes = async (...commands: ItemCommand[]) => (await processor.run(commands, '1')).filter((r) => r.cmd === 'Status').map((s) => `${s.refCmd}:${s.data}`);
  return { ...recorded, fumo, tree, processor, codes };
}

const PKG = new Uint8Array(10_000).map((_, i) => (i * 13 + 1) & 0xff);
const chunk = (id: number, data: Uint8Array | string, format: string, size?: number, more = true): ItemCommand => ({
  cmd: 'Replace',
  cmdID: String(id),
  items: [{ target: { locURI: './FUMO/1/Update/PkgData' }, meta: { format, ...(size !== undefined ? { size: String(size) } : {}) }, data, ...(more ? { moreData: true } : {}) }],
});

describe('Update/PkgData as a large object', () => {
  it('bin chunks are appended as they arrive, never assembled; the leaf keeps no bytes', async () => {
    const { codes, log, packages, tree } = await setup();
    expect(await codes(chunk(1, PKG.slice(0, 4000), 'bin', PKG.length), chunk(2, PKG.slice(4000, 8000), 'bin'), chunk(3, PKG.slice(8000), 'bin', undefined, false))).toEqual(['Replace:213', 'Replace:213', 'Replace:200']);
    expect(log).toEqual(['writer 10000', 'append 4000', 'append 4000', 'append 2000', 'end']);
    expect(packages.get('1')).toEqual(PKG);
    expect(tree.committed('FUMO/1/Update/PkgData')?.value).toBe('');
  });

  it('b64 chunks cut anywhere are decoded in whole groups', async () => {
    const { codes, packages, log } = await setup();
    const text = Buffer.from(PKG).toString('base64');
    expect(await codes(chunk(1, text.slice(0, 1001), 'b64', text.length), chunk(2, text.slice(1001, 7003), 'b64'), chunk(3, text.slice(7003), 'b64', undefined, false))).toEqual(['Replace:213', 'Replace:213', 'Replace:200']);
    expect(packages.get('1')).toEqual(PKG);
    expect(log.at(-1)).toBe('end');
  });

  it('an object refused midway (more than its Size) or left unfinished by the session is aborted: no package', async () => {
    const { codes, packages, log, processor } = await setup();
    expect(await codes(chunk(1, PKG.slice(0, 6000), 'bin', 8000), chunk(2, PKG.slice(6000), 'bin', undefined, false))).toEqual(['Replace:213', 'Replace:424']);
    expect(log).toEqual(['writer 8000', 'append 6000', 'abort']);
    expect(packages.has('1')).toBe(false);
    log.length = 0;
    expect(await codes(chunk(3, PKG.slice(0, 4000), 'bin', PKG.length))).toEqual(['Replace:213']);
    await processor.close(); // the session ends here
    expect(log).toEqual(['writer 10000', 'append 4000', 'abort']);
    expect(packages.has('1')).toBe(false);
  });

  it('a refused command takes no byte: the ACL (425) is checked before the stream opens', async () => {
    const { codes, log, fumo, tree } = await setup();
    await tree.change((tx) => tx.put('FUMO/1', { ...tx.get('FUMO/1')!, acl: 'Get=*' }));
    expect(await codes(chunk(1, PKG.slice(0, 4000), 'bin', PKG.length), chunk(2, PKG.slice(4000), 'bin', undefined, false))).toEqual(['Replace:425', 'Replace:425']);
    expect(log).toEqual([]);
    expect(fumo.state('1')).toBe(10);
  });
});
