/**
 * The OMA DM family's lazy chunks: the SyncML encoder sinks (agent/syncml/sink-loader.ts: a DM
 * session loads the sink of the encoding it speaks, never the other) and Get ?list= (list.ts,
 * loaded by the first list query, from Get's own lazy chunk get.ts). Checked on the bundle (each its own chunk, reached only through
 * a dynamic import) and inside QuickJS (which chunks the guest asked the host's module loader
 * for), with the sessions answered correctly either way.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { watchGuestModules } from '../support/guest-modules.ts';
import type { Command } from '../../agent/syncml/model.ts';
import { get, startDmServer } from '../../server/omadm/index.ts';
import { CLIENT, DEVICE_ID, engines as jsEngines, familySection, md5, SERVER } from '../omadm/session-rig.ts';
import { bootPhone, small } from './phone.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

const meta = JSON.parse(readFileSync(new URL('../../dist/agent.meta.json', import.meta.url), 'utf8')) as Metafile;
const outputs = Object.entries(meta.outputs).filter(([path]) => path.endsWith('.js'));
const chunkOf = (input: string): string => {
  const found = outputs.find(([, output]) => Object.keys(output.inputs).includes(input));
  if (!found) throw new Error(`no chunk holds ${input}`);
  return found[0];
};
const staticClosure = (start: string, seen = new Set<string>()): Set<string> => {
  if (seen.has(start)) return seen;
  seen.add(start);
  for (const imported of meta.outputs[start]?.imports ?? []) if (imported.kind === 'import-statement') staticClosure(imported.path, seen);
  return seen;
};
const XML_CHUNK = chunkOf('agent/syncml/xml-sink.ts');
const WBXML_CHUNK = chunkOf('agent/syncml/wbxml-sink.ts');
const LIST_CHUNK = chunkOf('agent/omadm/list.ts');
const GET_CHUNK = chunkOf('agent/omadm/get.ts');
const FAMILY_CHUNK = chunkOf('agent/omadm/family.ts');
const moduleName = (chunk: string) => chunk.replace(/^dist\//, '');

describe('the lazy chunks of the OMA DM family', () => {
  it('each sink and list.ts are their own chunks, imported dynamically (the sinks by the family, list.ts by get.ts) and statically by nothing the agent or the family loads', () => {
    expect(new Set([XML_CHUNK, WBXML_CHUNK, LIST_CHUNK, GET_CHUNK]).size).toBe(4);
    const loadedWithFamily = new Set([...staticClosure('dist/agent.js'), ...staticClosure(FAMILY_CHUNK)]);
    for (const [chunk, importer] of [[XML_CHUNK, FAMILY_CHUNK], [WBXML_CHUNK, FAMILY_CHUNK], [LIST_CHUNK, GET_CHUNK], [GET_CHUNK, FAMILY_CHUNK]] as const) {
      expect(loadedWithFamily.has(chunk)).toBe(false);
      expect(meta.outputs[importer]!.imports).toContainEqual(expect.objectContaining({ path: chunk, kind: 'dynamic-import' }));
    }
  });

  /** One client-initiated session inside QuickJS answering `commands`; the chunks the guest loaded. */
  async function session(encoding: 'xml' | 'wbxml', commands: Command[]) {
    const dir = await mkdtemp(join(tmpdir(), 'dm-qjs-lazy-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const running = await startDmServer({ serverId: SERVER.serverId, clients: [CLIENT], packages: [], md5, tokenize: jsEngines.syncmlTokenize });
    cleanups.push(() => running.close());
    const server = running.server;
    const config = { logLevel: 'error', trust: { allowUnsigned: true }, omadm: familySection(server.url, { encoding }) };
    // The host's module loader reads the guest's modules through the cached GuestCode: watch it.
    const requested = await watchGuestModules(cleanups);

    const { phone, host } = await bootPhone(join(dir, 'phone'), { deviceId: DEVICE_ID, model: 'Widget', hardwareId: 'hw-1', firmwareVersion: '1.0.0' }, cleanups);
    const agent = await host.start(phone, small, config);
    server.script(commands);
    await host.guarded(agent.trigger('omadm', 'manual'));
    await host.guarded(agent.close());
    expect(requested).toContain(moduleName(FAMILY_CHUNK));
    return { journal: server.journal, loaded: (chunk: string) => requested.includes(moduleName(chunk)) };
  }

  it.each(['xml', 'wbxml'] as const)('a %s session inside QuickJS loads its sink and not the other one, nor list.ts', async (encoding) => {
    const { journal, loaded } = await session(encoding, [get('./DevInfo/Mod')]);
    expect(journal.statuses()).toEqual(['Get:200']);
    expect(journal.of('result').some((e) => e.uri === './DevInfo/Mod' && e.data === 'Widget')).toBe(true);
    const [used, unused] = encoding === 'xml' ? [XML_CHUNK, WBXML_CHUNK] : [WBXML_CHUNK, XML_CHUNK];
    expect(loaded(used)).toBe(true);
    expect(loaded(unused)).toBe(false);
    expect(loaded(LIST_CHUNK)).toBe(false);
  }, 60_000);

  it('a Get ?list=Struct loads list.ts and lists the subtree', async () => {
    const { journal, loaded } = await session('xml', [get('./DevDetail/URI?list=Struct')]);
    expect(journal.statuses()).toEqual(['Get:200']);
    expect(journal.of('result').map((e) => e.uri)).toEqual(['./DevDetail/URI', './DevDetail/URI/MaxDepth', './DevDetail/URI/MaxSegLen', './DevDetail/URI/MaxTotLen']);
    expect(loaded(LIST_CHUNK)).toBe(true);
    expect(loaded(WBXML_CHUNK)).toBe(false);
  }, 60_000);
});
