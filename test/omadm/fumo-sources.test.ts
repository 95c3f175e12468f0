/**
 * Where FUMO packages come from, through the family's shared pipeline against the reference
 * server (mock HAL): inline in Update/PkgData (a large object over several server messages),
 * behind an OMA download descriptor (size from the DD, install-notify 900 / 905), or a plain
 * PkgURL whose size comes from HTTP; and the resolution rules on their own (source.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../../agent/index.ts';
import type { OmaDmFamily } from '../../agent/omadm/family.ts';
import { parseDescriptor } from '../../agent/omadm/fumo/descriptor.ts';
import { resolvePackage } from '../../agent/omadm/fumo/source.ts';
import { fumoPkgData, replace, exec } from '../../server/omadm/index.ts';
import { phoneBoard } from '../firmware/rig.ts';
import { agentConfig, familySection, IMAGE, type MockWorld, mockWorld, notification } from './session-rig.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function start(w: MockWorld): Promise<{ agent: Agent; client: () => ReturnType<OmaDmFamily['client']> }> {
  const agent = await createAgent(w.hardware.device!, phoneBoard, agentConfig(familySection(w.server.url, { encoding: 'wbxml', maxObjSize: 64 * 1024 })));
  cleanups.push(() => agent.close());
  return { agent, client: () => (agent.families.get('omadm') as OmaDmFamily).client() };
}

async function session(w: MockWorld, dev: Awaited<ReturnType<typeof start>>, id: number): Promise<void> {
  expect(await dev.client().router.receive(notification(id))).toBe(true);
  await dev.agent.trigger('omadm', 'push');
}

const downloadVia = (url: string, sha256?: string, size?: number) => [
  replace({ uri: './FUMO/1/Download/PkgURL', data: url }, ...(sha256 ? [{ uri: './FUMO/1/Ext/SHA256', data: sha256 }] : []), ...(size ? [{ uri: './FUMO/1/Ext/Size', data: String(size) }] : [])),
  exec('./FUMO/1/Download', 'corr-dl'),
];

describe('FUMO package sources through the shared pipeline', () => {
  it('Update/PkgData: a large object in 8 KiB chunks → staged → pipeline → slot → reboot → committed, Generic Alert update 200', async () => {
    const w = await mockWorld();
    cleanups.push(w.cleanup);
    let dev = await start(w);
    const facts = w.server.packageFacts('fw-2.0.bin');
    // No Ext/Size: the size is the inline package's own.
    w.server.script(...fumoPkgData('1', IMAGE, 'corr-pd', 8 * 1024, { version: facts.version, sha256: facts.sha256 }));
    await session(w, dev, 0x81);
    expect(w.server.journal.statuses('81')).toEqual(['Replace:200', 'Replace:200', 'Replace:213', 'Replace:213', 'Replace:200', 'Exec:202']);
    expect(w.server.journal.of('download')).toEqual([]); // nothing fetched over the network
    expect(w.hardware.rebootRequests.length).toBeGreaterThanOrEqual(1);
    await dev.agent.close();
    await w.reboot();
    dev = await start(w);
    await dev.agent.trigger('omadm', 'boot');
    expect(dev.client().fumo.state('1')).toBe(100);
    const status = await w.hardware.device!.update.status();
    expect(status).toMatchObject({ active: 'b', confirmed: true });
    expect(status.slots.find((s) => s.slot === 'b')).toMatchObject({ sha256: facts.sha256 });
    expect(w.server.journal.genericAlerts()).toMatchObject([{ correlator: 'corr-pd', type: 'org.openmobilealliance.dm.firmwareupdate.update', result: 200 }]);
    expect(await w.hardware.device!.staging.list()).toEqual([]); // the staged package is gone
  });

  it('PkgData whose bytes do not match Ext/SHA256: nothing activated, State 80, a failure alert after the session (no deadlock)', async () => {
    const w = await mockWorld();
    cleanups.push(w.cleanup);
    const dev = await start(w);
    const wrong = IMAGE.slice();
    wrong[100] = (wrong[100] as number) ^ 0xff;
    w.server.script(...fumoPkgData('1', wrong, 'corr-bad', 16 * 1024, { sha256: w.server.packageFacts('fw-2.0.bin').sha256 }));
    await session(w, dev, 0x82);
    expect(w.hardware.rebootRequests).toHaveLength(0);
    expect(dev.client().fumo.state('1')).toBe(80);
    expect((await w.hardware.device!.update.status()).active).toBe('a');
    const [alert] = w.server.journal.genericAlerts();
    expect(alert).toMatchObject({ correlator: 'corr-bad', type: 'org.openmobilealliance.dm.firmwareupdate.update', mark: 'critical' });
    expect(alert?.result).not.toBe(200);
  }, 20_000);

  it('a download failing inside the server session\'s FUMO work (HTTP 404) ends in State 20 and its alert goes out after the session', async () => {
    const w = await mockWorld();
    cleanups.push(w.cleanup);
    const dev = await start(w);
    const facts = w.server.packageFacts('fw-2.0.bin');
    // Before the fix the outbox transport started the alert session inside the running session: a deadlock.
    w.server.script(downloadVia(facts.url.replace('fw-2.0.bin', 'missing.bin'), facts.sha256, facts.size));
    await session(w, dev, 0x87);
    expect(dev.client().fumo.state('1')).toBe(20);
    expect(w.server.journal.genericAlerts()).toMatchObject([{ correlator: 'corr-dl', type: 'org.openmobilealliance.dm.firmwareupdate.download', mark: 'critical' }]);
  }, 20_000);

  it('PkgURL → download descriptor: size from the DD (no Ext/Size), objectURI downloaded, install-notify 900, held at 40', async () => {
    const w = await mockWorld();
    cleanups.push(w.cleanup);
    const dev = await start(w);
    const facts = w.server.packageFacts('fw-2.0.bin');
    w.server.script(downloadVia(w.server.descriptorUrl('fw-2.0.bin'), facts.sha256));
    await session(w, dev, 0x83);
    expect(w.server.journal.of('descriptor')).toHaveLength(1);
    expect(w.server.journal.of('download').length).toBeGreaterThanOrEqual(1);
    expect(dev.client().fumo.state('1')).toBe(40);
    expect(w.server.journal.of('installNotify')).toEqual([{ kind: 'installNotify', name: 'fw-2.0.bin', status: '900 Success' }]);
    expect(w.server.journal.genericAlerts()).toMatchObject([{ correlator: 'corr-dl', result: 200 }]);
  });

  it('a DD whose size disagrees with Ext/Size: refused (403), 905 to the installNotifyURI, nothing downloaded', async () => {
    const w = await mockWorld();
    cleanups.push(w.cleanup);
    const dev = await start(w);
    const facts = w.server.packageFacts('fw-2.0.bin');
    w.server.script(downloadVia(w.server.descriptorUrl('fw-2.0.bin', { size: facts.size + 1 }), facts.sha256, facts.size));
    await session(w, dev, 0x84);
    expect(dev.client().fumo.state('1')).toBe(20);
    expect(w.server.journal.of('download')).toEqual([]);
    await dev.agent.trigger('omadm', 'manual');
    expect(w.server.journal.of('installNotify')).toMatchObject([{ status: '905 Attribute mismatch' }]);
    expect(w.server.journal.genericAlerts()).toMatchObject([{ correlator: 'corr-dl', result: 403 }]);
  });

  it('a DD announcing the wrong size (no Ext/Size): the download fails verification, 905 to the installNotifyURI, State 20', async () => {
    const w = await mockWorld();
    cleanups.push(w.cleanup);
    const dev = await start(w);
    const facts = w.server.packageFacts('fw-2.0.bin');
    w.server.script(downloadVia(w.server.descriptorUrl('fw-2.0.bin', { size: facts.size + 100 }), facts.sha256));
    await session(w, dev, 0x89);
    await dev.agent.trigger('omadm', 'manual');
    expect(dev.client().fumo.state('1')).toBe(20);
    expect(w.server.journal.of('installNotify')).toMatchObject([{ status: '905 Attribute mismatch' }]);
    expect(w.server.journal.genericAlerts()).toMatchObject([{ correlator: 'corr-dl', type: 'org.openmobilealliance.dm.firmwareupdate.download', mark: 'critical' }]);
  }, 20_000);

  it('a plain PkgURL with Ext/SHA256 only: the size comes from HTTP; without any digest: 405 (not acceptable)', async () => {
    const w = await mockWorld();
    cleanups.push(w.cleanup);
    const dev = await start(w);
    const facts = w.server.packageFacts('fw-2.0.bin');
    w.server.script(downloadVia(facts.url));
    await session(w, dev, 0x85);
    expect(dev.client().fumo.state('1')).toBe(20);
    expect(w.server.journal.genericAlerts()).toMatchObject([{ correlator: 'corr-dl', result: 405 }]);
    w.server.script(downloadVia(facts.url, facts.sha256));
    await session(w, dev, 0x86);
    expect(dev.client().fumo.state('1')).toBe(40);
  });
});

describe('FUMO downloads and the pipeline settings', () => {
  it('honour the board\'s downloadChunkBytes and the omadm.download checkpoint policy', async () => {
    const w = await mockWorld();
    cleanups.push(w.cleanup);
    const inner = w.hardware.device!;
    const writes: number[] = [];
    let syncs = 0;
    // The device as the agent sees it, with the slot writer observed.
    const update = {
      status: () => inner.update.status(),
      confirm: () => inner.update.confirm(),
      rollback: () => inner.update.rollback(),
      openInactive: async (options: Parameters<typeof inner.update.openInactive>[0]) => {
        const writer = await inner.update.openInactive(options);
        return {
          get durableLength() {
            return writer.durableLength;
          },
          write: (offset: number, bytes: Uint8Array) => (writes.push(bytes.length), writer.write(offset, bytes)),
          read: (offset: number, length: number) => writer.read(offset, length),
          sync: () => (syncs++, writer.sync()),
          complete: (o: { sha256: string }) => writer.complete(o),
          close: () => writer.close(),
        };
      },
    };
    const device = { ...inner, update } as typeof inner;
    const omadm = familySection(w.server.url, { download: { checkpointBytes: 4096, checkpointMs: 0 } });
    const agent = await createAgent(device, { ...phoneBoard, downloadChunkBytes: 1024 }, agentConfig(omadm));
    cleanups.push(() => agent.close());
    const facts = w.server.packageFacts('fw-2.0.bin');
    w.server.script(downloadVia(facts.url, facts.sha256, facts.size));
    const client = (agent.families.get('omadm') as OmaDmFamily).client();
    expect(await client.router.receive(notification(0x88))).toBe(true);
    expect(client.fumo.state('1')).toBe(40);
    expect(writes.reduce((a, b) => a + b, 0)).toBe(IMAGE.length);
    // Writes of about 1 KiB: each mock-network chunk (2 KiB) goes down alone; with the default 64 KiB
    // chunk they would be batched up to the 4 KiB checkpoint.
    expect(Math.max(...writes)).toBeLessThanOrEqual(2048);
    expect(writes.length).toBeGreaterThanOrEqual(IMAGE.length / 2048);
    // 20 KiB in 4 KiB checkpoints (each one a slot sync first), plus the final one.
    expect(syncs).toBeGreaterThanOrEqual(Math.floor(IMAGE.length / 4096));
  });
});

describe('package resolution and descriptors (units)', () => {
  const dd = (extra = '') => `<media xmlns="http://www.openmobilealliance.org/xmlns/dd"><DDVersion>1.0</DDVersion><objectURI>http://x/p?a=1&amp;b=2</objectURI><size>42</size><type>application/octet-stream</type>${extra}</media>`;

  it('parses a DD (entities decoded) and refuses bad ones with 906 / 951', () => {
    expect(parseDescriptor(dd('<installNotifyURI>http://x/n</installNotifyURI>'))).toEqual({ objectURI: 'http://x/p?a=1&b=2', size: 42, type: 'application/octet-stream', installNotifyURI: 'http://x/n', version: '1.0' });
    expect(() => parseDescriptor('<html/>')).toThrow(/not a download descriptor/);
    expect(() => parseDescriptor(dd().replace('<size>42</size>', ''))).toThrow(expect.objectContaining({ status: '906 Invalid descriptor' }));
    expect(() => parseDescriptor(dd().replace('1.0</DDVersion>', '2.0</DDVersion>'))).toThrow(expect.objectContaining({ status: '951 Invalid DDVersion' }));
    expect(() => parseDescriptor(dd().replace('http://x/p?a=1&amp;b=2', 'ftp://x/p'))).toThrow(/objectURI/);
  });

  it('signed metadata (the trust integration point) supplies size and digest and wins over Ext; no digest anywhere: refused', async () => {
    const sha = 'ab'.repeat(32);
    const http = { request: async () => ({ status: 200, headers: { 'content-length': '7' }, body: (async function* () {})(), bytes: async () => new Uint8Array(0), cancel: () => undefined }) };
    const job = { instance: '1', operation: 'download' as const, url: 'http://x/p', serverId: 'srv1', runThrough: false };
    expect(await resolvePackage({ http, timeoutMs: 1000, expected: async () => ({ size: 7, sha256: sha }) }, job)).toEqual({ kind: 'resolved', pkg: { url: 'http://x/p', size: 7, sha256: sha } });
    expect(await resolvePackage({ http, timeoutMs: 1000 }, { ...job, sha256: 'cd'.repeat(32) })).toMatchObject({ kind: 'resolved', pkg: { size: 7, sha256: 'cd'.repeat(32) } });
    expect(await resolvePackage({ http, timeoutMs: 1000, expected: async () => ({ size: 8, sha256: sha }) }, job)).toMatchObject({ kind: 'refused', result: 403 });
    expect(await resolvePackage({ http, timeoutMs: 1000 }, job)).toMatchObject({ kind: 'refused', result: 405 });
  });
});
