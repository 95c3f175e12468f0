/**
 * The rarely needed half of DM session authentication (agent/omadm/auth-rare.ts: the HMAC header,
 * the check of the server's credentials and the challenge after a failed one) is a lazy chunk:
 * checked on the bundle and inside QuickJS, where a DIGEST session that does not authenticate its
 * server never loads it, and a session that must authenticate its server loads it and refuses the
 * reference server (which never sends credentials) without running any of its commands.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { watchGuestModules } from '../support/guest-modules.ts';
import { get, startDmServer } from '../../server/omadm/index.ts';
import { CLIENT, DEVICE_ID, engines, familySection, md5, SERVER } from '../omadm/session-rig.ts';
import { agentChunks } from '../support/agent-chunks.ts';
import { bootPhone, small } from './phone.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

const SOURCE = 'agent/omadm/auth-rare.ts';
const meta = JSON.parse(readFileSync(new URL('../../dist/agent.meta.json', import.meta.url), 'utf8')) as Metafile;
const CHUNK = Object.keys(meta.outputs).find((output) => output.endsWith('.js') && SOURCE in meta.outputs[output]!.inputs);

describe('HMAC and server authentication are a lazy chunk of the OMA DM family', () => {
  it('is the entry of a lazy chunk, not loaded statically with the family', async () => {
    const { familySources, lazyEntries } = await agentChunks();
    expect(lazyEntries.has(SOURCE)).toBe(true);
    expect(familySources.omadm!.has(SOURCE)).toBe(false);
    expect(familySources.omadm!.has('agent/omadm/auth.ts')).toBe(true);
    expect(CHUNK).toBeDefined();
    // The HMAC header (build and parse) is only the lazy half's: it comes with it, never with the family.
    expect(familySources.omadm!.has('agent/omadm/hmac.ts')).toBe(false);
    expect(familySources.omadm!.has('agent/omadm/crypto.ts')).toBe(true);
    expect('agent/omadm/hmac.ts' in meta.outputs[CHUNK!]!.inputs).toBe(true);
  });

  /** A client-initiated session inside QuickJS with `extra` in the omadm section; whether the chunk was loaded. */
  async function session(extra: Record<string, unknown>) {
    const dir = await mkdtemp(join(tmpdir(), 'dm-qjs-auth-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const running = await startDmServer({ serverId: SERVER.serverId, clients: [CLIENT], packages: [], md5, tokenize: engines.syncmlTokenize });
    cleanups.push(() => running.close());
    const server = running.server;
    server.script([get('./DevInfo/Mod')]);
    const requested = await watchGuestModules(cleanups);
    const { phone, host } = await bootPhone(join(dir, 'phone'), { deviceId: DEVICE_ID, model: 'Widget', hardwareId: 'hw-1', firmwareVersion: '1.0.0' }, cleanups);
    const agent = await host.start(phone, small, { logLevel: 'error', trust: { allowUnsigned: true }, omadm: familySection(server.url, extra) });
    cleanups.push(() => host.guarded(agent.close()));
    // A refused server fails the run (typed, the scheduler's to retry): only what happened on the wire counts here.
    await host.guarded(agent.trigger('omadm', 'manual')).catch(() => undefined);
    return { statuses: server.journal.statuses(), loaded: requested.includes(CHUNK!.replace(/^dist\//, '')) };
  }

  it('a DIGEST session that does not authenticate its server does not load it', async () => {
    const { statuses, loaded } = await session({});
    expect(statuses).toEqual(['Get:200']);
    expect(loaded).toBe(false);
  }, 60_000);

  it('a session that must authenticate its server loads it and runs nothing for a server without credentials', async () => {
    const { statuses, loaded } = await session({ authenticateServer: true });
    expect(loaded).toBe(true);
    expect(statuses).toEqual([]);
  }, 60_000);
});
