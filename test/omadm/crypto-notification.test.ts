import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authBasic, authMd5 } from '../../agent/omadm/crypto.ts';
import { hmacHeader, parseHmacHeader } from '../../agent/omadm/hmac.ts';
import { findAccount } from '../../agent/omadm/csp/dmacc.ts';
import { buildNotification, NotificationRouter, parseNotification, sessionIdText, notificationDigest, type Notification } from '../../agent/omadm/notification.ts';
import { OmaDmError } from '../../agent/omadm/errors.ts';
import { DmTree } from '../../agent/omadm/tree.ts';
import { toBase64, utf8Encode } from '../../agent/util/bytes.ts';
import { ACCOUNT, md5, newMedium, seededTree } from './support.ts';

const CONFORMANCE = process.env.DM_CONFORMANCE_DIR ?? join(__dirname, '../../../shared/conformance');

describe('OMA DM security constructions', () => {
  it('auth-md5 reproduces the OMA DM 1.2.1 vector and auth-basic its example', () => {
    expect(authMd5(md5, 'Bruce2', 'OhBehave', utf8Encode('Nonce'))).toBe('Zz6EivR3yeaaENcRN6lpAQ==');
    expect(authBasic('Bruce2', 'OhBehave')).toBe('QnJ1Y2UyOk9oQmVoYXZl');
  });

  it('the HMAC header round-trips and its mac covers the body', () => {
    const header = hmacHeader(md5, 'Bruce2', 'OhBehave', utf8Encode('Nonce'), utf8Encode('<SyncML/>'));
    const fields = parseHmacHeader(header);
    expect(fields?.username).toBe('Bruce2');
    expect(fields?.algorithm).toBe('MD5');
    expect(hmacHeader(md5, 'Bruce2', 'OhBehave', utf8Encode('Nonce'), utf8Encode('<SyncML />'))).not.toBe(header);
    expect(parseHmacHeader('algorithm=MD5')).toBeUndefined();
  });
});

describe('package #0', () => {
  for (const [file, name] of [['SAN01.bin', 'Contacts'], ['SAN02.bin', 'Calendar']] as const) {
    it(`parses and verifies the conformance notification ${file}`, () => {
      const bytes = new Uint8Array(readFileSync(join(CONFORMANCE, 'notification/ds12-san-buteo', file)));
      const n = parseNotification(bytes);
      expect(n).toMatchObject({ version: 12, uiMode: 'background', serverInitiated: true, sessionId: 0, serverId: 'PC Suite Data Sync' });
      expect(new TextDecoder().decode(n.vendor)).toContain(name);
      expect(toBase64(notificationDigest(md5, n.serverId, '', new Uint8Array(0), n.trigger))).toBe(toBase64(n.digest));
      expect(toBase64(notificationDigest(md5, n.serverId, 'x', new Uint8Array(0), n.trigger))).not.toBe(toBase64(n.digest));
    });
  }

  it('round-trips what buildNotification writes, versions 11 and 12, and refuses others', () => {
    const cred = { name: 'srv1', secret: 's', nonce: utf8Encode('n') };
    for (const version of [11, 12]) {
      const n = parseNotification(buildNotification(md5, { version, uiMode: 'user', sessionId: 0x1a2b, serverId: 'srv1', vendor: utf8Encode('v') }, cred));
      expect(n).toMatchObject({ version, uiMode: 'user', sessionId: 0x1a2b, serverId: 'srv1' });
      expect(sessionIdText(n.sessionId)).toBe('1A2B');
    }
    expect(() => parseNotification(buildNotification(md5, { version: 10, sessionId: 1, serverId: 'srv1' }, cred))).toThrow(OmaDmError);
    expect(() => parseNotification(new Uint8Array(10))).toThrow(/too short/);
    const truncated = buildNotification(md5, { sessionId: 1, serverId: 'srv1' }, cred).slice(0, 27);
    expect(() => parseNotification(truncated)).toThrow(/truncated/);
  });

  it('the router verifies the digest first, refuses replays across a restart, then starts the session', async () => {
    const medium = newMedium();
    let store = await medium.open();
    let { tree } = await seededTree(store);
    const started: Notification[] = [];
    const rejected: string[] = [];
    const router = (s = store) =>
      new NotificationRouter({
        md5,
        store: s,
        account: (id) => findAccount(tree, id),
        startSession: async (n) => void started.push(n),
        onRejected: (reason) => void rejected.push(reason),
      });
    const cred = { name: ACCOUNT.server.name, secret: ACCOUNT.server.secret, nonce: ACCOUNT.server.nonce as Uint8Array };
    const good = buildNotification(md5, { sessionId: 7, serverId: 'srv1' }, cred);
    const forged = buildNotification(md5, { sessionId: 7, serverId: 'srv1' }, { ...cred, secret: 'wrong' });
    const stranger = buildNotification(md5, { sessionId: 7, serverId: 'nobody' }, cred);
    expect(await router().receive(forged)).toBe(false);
    expect(await router().receive(stranger)).toBe(false);
    expect(await router().receive(new Uint8Array(3))).toBe(false);
    expect(started).toHaveLength(0);
    expect(await router().receive(good)).toBe(true);
    expect(started[0]?.sessionId).toBe(7);
    await store.close();
    // The restart: the agent reopens its DM tree on the reopened store (OmaDmClient.open does).
    store = await medium.open();
    tree = DmTree.open(store);
    expect(await router(store).receive(good)).toBe(false);
    expect(rejected).toEqual(['digest', 'unknownServer', 'malformed', 'replay']);
    // The empty-nonce fallback (libdmclient) accepts a digest made before the server knew the nonce.
    const noNonce = buildNotification(md5, { sessionId: 8, serverId: 'srv1' }, { ...cred, nonce: new Uint8Array(0) });
    expect(await router(store).receive(noNonce)).toBe(true);
  });
});
