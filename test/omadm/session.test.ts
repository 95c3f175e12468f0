import { describe, expect, it } from 'vitest';
import { policyInteraction } from '../../agent/omadm/alerts.ts';
import { authMd5 } from '../../agent/omadm/crypto.ts';
import { findAccount } from '../../agent/omadm/csp/dmacc.ts';
import { OmaDmError } from '../../agent/omadm/errors.ts';
import { DmSession, type SessionOptions } from '../../agent/omadm/session.ts';
import type { Command, Results, Status } from '../../agent/syncml/model.ts';
import { fromBase64, toBase64, utf8Decode, utf8Encode } from '../../agent/util/bytes.ts';
import { ACCOUNT, engines, md5, newMedium, seededTree } from './support.ts';
import { clock, type Exchange, message, type Reply, ScriptedServer, serverHeader, statusesFor, text } from './fake-server.ts';

async function setup(script: (exchange: Exchange, index: number) => Reply, options: Partial<SessionOptions> = {}) {
  const medium = newMedium();
  const store = await medium.open();
  const { tree, csps } = await seededTree(store);
  const server = new ScriptedServer(script);
  const account = findAccount(tree, 'srv1');
  if (!account) throw new Error('no account');
  const session = new DmSession({
    http: server,
    clock,
    random: (n) => new Uint8Array(n).fill(7),
    md5,
    tokenize: engines.syncmlTokenize,
    tree,
    csps,
    ui: policyInteraction('accept'),
    account,
    devId: 'IMEI:000000011234564',
    retryIntervalMs: 0,
    ...options,
  });
  return { session, server, tree, csps, store, medium };
}

const get = (id: string, uri: string): Command => ({ cmd: 'Get', cmdID: id, items: [{ target: { locURI: uri } }] });
const statusesOf = (m: Exchange) => m.message.body.commands.filter((c): c is Status => c.cmd === 'Status');

describe('DM session', () => {
  it('server-initiated: package 1 (Alert 1200, DevInfo, md5 Cred), Get answered with Status + Results, ends on a status-only package', async () => {
    const { session, server } = await setup((ex, i) => {
      if (i === 0) return { message: message(serverHeader(ex.message, 1, { respURI: 'https://dm.example/dm?s=1' }), [...statusesFor(ex.message), get('5', './DevInfo/Man')]) };
      return { message: message(serverHeader(ex.message, 2), statusesFor(ex.message)) };
    });
    const summary = await session.run({ kind: 'server', sessionId: '1A2B' });
    expect(summary).toMatchObject({ version: '1.2', messages: 2, aborted: false });
    const [first, second] = server.log as [Exchange, Exchange];
    expect(first.message.hdr).toMatchObject({ verDTD: '1.2', verProto: 'DM/1.2', sessionID: '1A2B', msgID: '1', target: { locURI: 'https://dm.example/dm' }, source: { locURI: 'IMEI:000000011234564', locName: 'device-1' } });
    expect(first.message.hdr?.cred?.meta?.type).toBe('syncml:auth-md5');
    expect(text(first.message.hdr?.cred?.data)).toBe(authMd5(md5, 'device-1', 'client-secret', utf8Encode('cnonce')));
    expect(first.message.body.commands.map((c) => `${c.cmd}${c.cmd === 'Alert' ? text(c.data) : ''}`)).toEqual(['Alert1200', 'Replace']);
    expect(first.request.headers?.['content-type']).toBe('application/vnd.syncml.dm+xml');
    expect(second.request.url).toBe('https://dm.example/dm?s=1');
    expect(second.message.hdr?.cred).toBeUndefined();
    const cmds = second.message.body.commands;
    expect(cmds.map((c) => c.cmd)).toEqual(['Status', 'Status', 'Results']);
    expect(cmds[0]).toMatchObject({ cmdRef: '0', refCmd: 'SyncHdr', data: '200' });
    expect(cmds[1]).toMatchObject({ cmdRef: '5', refCmd: 'Get', data: '200' });
    expect((cmds[2] as Results).items?.[0]?.data).toBe('Acme');
  });

  it('statuses count only for our own commands (not for our Status/Results), including a late one for an earlier message', async () => {
    const { session } = await setup((ex, i) => {
      if (i === 0) return { message: message(serverHeader(ex.message, 1), [...statusesFor(ex.message), get('5', './DevInfo/Man')], false) };
      // Statuses for every command of message 2 (our Status, Results, Alert 1222), then one for message 1's Alert.
      const mine = ex.message.body.commands.map((c): Status => ({ cmd: 'Status', msgRef: '2', cmdRef: c.cmdID ?? '0', refCmd: c.cmd, data: '500' }));
      const late: Status = { cmd: 'Status', msgRef: '1', cmdRef: '1', refCmd: 'Alert', data: '202' };
      return { message: message(serverHeader(ex.message, 2), [{ cmd: 'Status', msgRef: '2', cmdRef: '0', refCmd: 'SyncHdr', data: '200' }, ...mine, late]) };
    });
    const summary = await session.run({ kind: 'server', sessionId: '1A2B' });
    expect(summary.messages).toBe(2);
    expect(summary.statuses).toEqual([{ cmd: 'Alert', code: 200 }, { cmd: 'Replace', code: 200 }, { cmd: 'Alert', code: 500 }, { cmd: 'Alert', code: 202 }]);
    expect(summary.acknowledged.map((c) => text((c as { data?: unknown }).data))).toEqual(['1200', '1200']);
  });

  it('auth-md5 challenge (401 + Chal): the new nonce is persisted and package 1 resent with it; 3 refusals fail typed', async () => {
    const nonce = utf8Encode('fresh-nonce');
    const chal = { meta: { type: 'syncml:auth-md5', format: 'b64', nextNonce: toBase64(nonce) } };
    const { session, server, tree } = await setup((ex, i) => {
      if (i === 0) return { message: message(serverHeader(ex.message, 1), [{ cmd: 'Status', msgRef: '1', cmdRef: '0', refCmd: 'SyncHdr', data: '401', chal }]) };
      return { message: message(serverHeader(ex.message, 2), statusesFor(ex.message, 212)) };
    });
    await session.run({ kind: 'client', sessionId: '2' });
    expect(text(server.log[1]?.message.hdr?.cred?.data)).toBe(authMd5(md5, 'device-1', 'client-secret', nonce));
    expect(server.log[1]?.message.body.commands[0]).toMatchObject({ cmd: 'Alert' });
    expect(utf8Decode(findAccount(tree, 'srv1')?.client.nonce as Uint8Array)).toBe('fresh-nonce');
    const refusing = await setup((ex) => ({ message: message(serverHeader(ex.message, 1), [{ cmd: 'Status', msgRef: '1', cmdRef: '0', refCmd: 'SyncHdr', data: '401', chal }]) }));
    await expect(refusing.session.run({ kind: 'client', sessionId: '3' })).rejects.toMatchObject({ code: 'auth' });
    expect(refusing.server.log).toHaveLength(3);
  });

  it('falls back to DM 1.1.2 on 505 and on an unparseable 1.2 reply, unless disabled', async () => {
    for (const refusal of ['505', 'garbage'] as const) {
      const { session, server } = await setup((ex, i) => {
        if (i === 0) return refusal === '505' ? { message: message(serverHeader(ex.message, 1), [{ cmd: 'Status', msgRef: '1', cmdRef: '0', refCmd: 'SyncHdr', data: '505' }]) } : { raw: utf8Encode('<html>nope</html>') };
        return { message: message(serverHeader(ex.message, 1), statusesFor(ex.message)) };
      });
      const summary = await session.run({ kind: 'client', sessionId: '4' });
      expect(summary.version).toBe('1.1');
      const again = server.log[1] as Exchange;
      expect(again.message.hdr).toMatchObject({ verDTD: '1.1', verProto: 'DM/1.1', msgID: '1' });
      expect(utf8Decode(again.bytes)).toContain('SYNCML:SYNCML1.1');
    }
    const strict = await setup((ex) => ({ message: message(serverHeader(ex.message, 1), [{ cmd: 'Status', msgRef: '1', cmdRef: '0', refCmd: 'SyncHdr', data: '505' }]) }), { fallback: false });
    await expect(strict.session.run({ kind: 'client', sessionId: '5' })).rejects.toMatchObject({ code: 'protocol' });
    expect(strict.server.log).toHaveLength(1);
  });

  it('answers in WBXML when the server used WBXML', async () => {
    const { session, server } = await setup((ex, i) => {
      if (i === 0) return { message: message(serverHeader(ex.message, 1), [...statusesFor(ex.message), get('2', './DevInfo/Mod')]), encoding: 'wbxml' };
      return { message: message(serverHeader(ex.message, 2), statusesFor(ex.message)), encoding: 'wbxml' };
    });
    await session.run({ kind: 'client', sessionId: '6' });
    expect(server.log[1]?.encoding).toBe('wbxml');
    expect(server.log[1]?.request.headers?.['content-type']).toBe('application/vnd.syncml.dm+wbxml');
  });

  it('splits responses over messages under the server MaxMsgSize (Alert 1222) and a large Results into MoreData chunks', async () => {
    const big = 'x'.repeat(3000);
    let bigAdded = false;
    const { session, server, tree } = await setup((ex, i) => {
      const hdr = serverHeader(ex.message, i + 1, { meta: { maxMsgSize: '1200' } });
      if (i === 0) return { message: message(hdr, [...statusesFor(ex.message), ...Array.from({ length: 12 }, (_, k) => get(String(k + 1), './DevInfo/DevId')), get('99', './Big/Leaf')]) };
      if (ex.message.body.final !== true) return { message: message(hdr, [...statusesFor(ex.message), { cmd: 'Alert', cmdID: '1', data: '1222' }]) };
      return { message: message(hdr, statusesFor(ex.message)) };
    });
    await tree.change((tx) => {
      tx.put('Big', { leaf: false, format: 'node', scope: 'dynamic' });
      tx.put('Big/Leaf', { leaf: true, format: 'chr', scope: 'dynamic', value: big });
      bigAdded = true;
    });
    expect(bigAdded).toBe(true);
    await session.run({ kind: 'client', sessionId: '7' });
    const replies = server.log.slice(1);
    expect(replies.length).toBeGreaterThan(3);
    for (const r of replies) expect(r.bytes.length).toBeLessThanOrEqual(1200);
    expect(replies.slice(0, -1).every((r) => r.message.body.final !== true)).toBe(true);
    expect(replies.at(-1)?.message.body.final).toBe(true);
    const results = replies.flatMap((r) => r.message.body.commands).filter((c): c is Results => c.cmd === 'Results');
    expect(results.filter((r) => r.items?.[0]?.data === 'IMEI:000000011234564')).toHaveLength(12);
    const chunks = results.filter((r) => r.items?.[0]?.source?.locURI === './Big/Leaf');
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.slice(0, -1).every((r) => r.items?.[0]?.moreData === true)).toBe(true);
    expect(chunks.at(-1)?.items?.[0]?.moreData).toBeFalsy();
    expect(chunks.map((r) => text(r.items?.[0]?.data)).join('')).toBe(big);
    expect(chunks[0]?.items?.[0]?.meta?.size).toBe('3000');
  });

  it('asks for the next message (1222) while the server package is not Final, and stops on 1223', async () => {
    const { session, server } = await setup((ex, i) => {
      if (i === 0) return { message: message(serverHeader(ex.message, 1), [...statusesFor(ex.message), get('2', './DevInfo/Man')], false) };
      return { message: message(serverHeader(ex.message, 2), [...statusesFor(ex.message), { cmd: 'Alert', cmdID: '3', data: '1223' }]) };
    });
    const summary = await session.run({ kind: 'client', sessionId: '8' });
    expect(summary.aborted).toBe(true);
    const reply = server.log[1]?.message.body.commands ?? [];
    expect(reply.some((c) => c.cmd === 'Alert' && text(c.data) === '1222')).toBe(true);
    expect(server.log[1]?.message.body.final).toBeFalsy();
  });

  it('requires the server to authenticate when configured: a wrong Cred gets 401 + Chal and its commands do not run', async () => {
    const right = (nonce: Uint8Array) => ({ meta: { type: 'syncml:auth-md5', format: 'b64' }, data: authMd5(md5, ACCOUNT.server.name, ACCOUNT.server.secret, nonce) });
    let nonceSeen: Uint8Array | undefined;
    const { session, server, tree } = await setup(
      (ex, i) => {
        if (i === 0) return { message: message(serverHeader(ex.message, 1, { cred: { meta: { type: 'syncml:auth-md5', format: 'b64' }, data: 'AAAA' } }), [...statusesFor(ex.message), { cmd: 'Replace', cmdID: '2', items: [{ target: { locURI: './X' }, data: '1' }] }]) };
        if (i === 1) {
          const chal = statusesOf(ex)[0]?.chal;
          nonceSeen = fromBase64(chal?.meta?.nextNonce ?? '');
          return { message: message(serverHeader(ex.message, 2, { cred: right(nonceSeen) }), [...statusesFor(ex.message), get('3', './DevInfo/Man')]) };
        }
        return { message: message(serverHeader(ex.message, 3), statusesFor(ex.message)) };
      },
      { authenticateServer: true },
    );
    await session.run({ kind: 'client', sessionId: '9' });
    expect(statusesOf(server.log[1] as Exchange)[0]).toMatchObject({ cmdRef: '0', data: '401' });
    expect(server.log[1]?.message.body.commands).toHaveLength(1);
    expect(tree.committed('X')).toBeUndefined();
    expect(nonceSeen).toEqual(new Uint8Array(16).fill(7));
    expect(statusesOf(server.log[2] as Exchange)[0]).toMatchObject({ data: '212' });
    expect(findAccount(tree, 'srv1')?.server.nonce).toEqual(new Uint8Array(16).fill(7));
  });

  it('sends the HMAC header when the account prefers HMAC, and retries transport failures then fails typed', async () => {
    const { session, server } = await setup((ex) => ({ message: message(serverHeader(ex.message, 1), statusesFor(ex.message)) }));
    await session.run({ kind: 'client', sessionId: '10' });
    expect(server.log[0]?.request.headers?.['x-syncml-hmac']).toBeUndefined();
    const hmac = await setup((ex) => ({ message: message(serverHeader(ex.message, 1), statusesFor(ex.message)) }));
    const account = findAccount(hmac.tree, 'srv1');
    if (!account) throw new Error('account');
    account.authPref = 'HMAC';
    const hmacSession = new DmSession({ http: hmac.server, clock, random: (n) => new Uint8Array(n), md5, tokenize: engines.syncmlTokenize, tree: hmac.tree, csps: hmac.csps, ui: policyInteraction('accept'), account, devId: 'd' });
    await hmacSession.run({ kind: 'client', sessionId: '11' });
    const header = hmac.server.log[0]?.request.headers?.['x-syncml-hmac'] ?? '';
    expect(header).toMatch(/^algorithm=MD5, username="device-1", mac=/);
    expect(hmac.server.log[0]?.message.hdr?.cred).toBeUndefined();
    let calls = 0;
    const failing = await setup(() => ({ raw: new Uint8Array(0), status: 503 }), { retries: 2 });
    failing.server.request = async () => {
      calls++;
      throw new Error('ECONNREFUSED');
    };
    await expect(failing.session.run({ kind: 'client', sessionId: '12' })).rejects.toBeInstanceOf(OmaDmError);
    expect(calls).toBe(3);
  });
});
