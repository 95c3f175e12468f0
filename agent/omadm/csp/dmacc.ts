/**
 * DMAcc (DM_StdObj 1.2 §5.3): the server accounts: ServerID, address, preferred auth, and the
 * client and server credentials (AppAuth). Secrets are never readable (no Get in their ACL) and the
 * nonces (AAuthData) persist in the tree, so a reboot keeps the next challenge.
 */
import { fromBase64, toBase64 } from '../../util/bytes.ts';
import { type AccessType, describeInterior, type NodeDescription, describeLeaf, ZERO_OR_MORE, ZERO_OR_ONE } from '../ddf.ts';
import { DmStatusError } from '../errors.ts';
import type { DmTree, TreeTransaction } from '../tree.ts';
import { type Csp, interior, leaf, leaves, type SeedNode } from './api.ts';

export type AuthType = 'BASIC' | 'DIGEST' | 'HMAC';
export type AuthLevel = 'CLCRED' | 'SRVCRED';

export interface Credential {
  name: string;
  secret: string;
  /** Initial nonce (bytes as base64 in the tree). */
  nonce?: Uint8Array;
}

export interface DmAccountConfig {
  /** The account's node name under ./DMAcc. */
  id: string;
  serverId: string;
  /** The server's URL (AppAddr). */
  addr: string;
  authPref: AuthType;
  client: Credential;
  server: Credential;
  /** Config only (not a DM tree node): this server may be `http://`, logged at every connection. */
  allowInsecure?: boolean;
}

export interface DmAccount extends DmAccountConfig {
  path: string;
}

/** Server-side only: a server may replace secrets, never read them. */
const SECRET_ACL = 'Replace=*';
const LEVELS: Record<AuthLevel, string> = { CLCRED: '1', SRVCRED: '2' };

function authNodes(base: string, level: AuthLevel, type: AuthType, cred: Credential): SeedNode[] {
  const at = `${base}/AppAuth/${LEVELS[level]}`;
  return [
    interior(at, undefined, 'dynamic'),
    ...leaves(at, { AAuthLevel: level, AAuthType: type, AAuthName: cred.name }),
    leaf(`${at}/AAuthSecret`, cred.secret, 'chr', SECRET_ACL),
    leaf(`${at}/AAuthData`, toBase64(cred.nonce ?? new Uint8Array(0)), 'b64', SECRET_ACL),
  ];
}

/** DM_StdObj 1.2 §5.3 (the DMAcc MO): accounts are `<x>` nodes a server may add and remove. Built per check (see devinfo.ts). */
const RW: AccessType[] = ['Add', 'Delete', 'Get', 'Replace'];
const DMACC = (): NodeDescription => {
  const text = describeLeaf(RW, 'chr', ZERO_OR_ONE);
  const ext = describeInterior(RW, {}, ZERO_OR_ONE, true);
  return describeInterior(['Get'], {
    '*': describeInterior(RW, {
      AppID: text,
      ServerID: text,
      Name: text,
      PrefConRef: text,
      AppAddr: describeInterior(RW, { '*': describeInterior(RW, { Addr: text, AddrType: text, Port: ext }, ZERO_OR_MORE) }, ZERO_OR_ONE),
      AAuthPref: text,
      AppAuth: describeInterior(RW, {
        '*': describeInterior(RW, { AAuthLevel: text, AAuthType: text, AAuthName: text, AAuthSecret: text, AAuthData: describeLeaf(RW, ['b64', 'bin'], ZERO_OR_ONE) }, ZERO_OR_MORE),
      }, ZERO_OR_ONE),
      Ext: ext,
    }, ZERO_OR_MORE),
  });
};

export function dmAccCsp(accounts: readonly DmAccountConfig[]): Csp {
  return {
    root: 'DMAcc',
    seed: () => {
      const nodes: SeedNode[] = [interior('DMAcc', 'Get=*')];
      for (const account of accounts) {
        const base = `DMAcc/${account.id}`;
        nodes.push(
          interior(base, undefined, 'dynamic'),
          ...leaves(base, { AppID: 'w7', ServerID: account.serverId, Name: account.serverId }),
          interior(`${base}/AppAddr`),
          interior(`${base}/AppAddr/1`),
          ...leaves(`${base}/AppAddr/1`, { Addr: account.addr, AddrType: 'URI' }),
          leaf(`${base}/AAuthPref`, account.authPref),
          interior(`${base}/AppAuth`),
          ...authNodes(base, 'CLCRED', account.authPref, account.client),
          ...authNodes(base, 'SRVCRED', account.authPref, account.server),
        );
      }
      return nodes;
    },
    describe: DMACC,
    check(op, path) {
      if (op !== 'Replace' && /^DMAcc\/[^/]+\/(ServerID|AppAuth)/.test(path)) throw new DmStatusError(405, 'account structure is fixed');
    },
  };
}

function textOf(tx: Pick<TreeTransaction, 'get'>, path: string): string | undefined {
  const value = tx.get(path)?.value;
  return typeof value === 'string' ? value : undefined;
}

/** The account of a ServerID as the tree holds it now (secrets and nonces included: never log it). */
export function findAccount(tree: DmTree, serverId: string): DmAccount | undefined {
  const tx = tree.begin();
  for (const id of tx.children('DMAcc')) {
    const base = `DMAcc/${id}`;
    if (textOf(tx, `${base}/ServerID`) !== serverId) continue;
    const cred = (level: AuthLevel): Credential => {
      const at = `${base}/AppAuth/${LEVELS[level]}`;
      return { name: textOf(tx, `${at}/AAuthName`) ?? '', secret: textOf(tx, `${at}/AAuthSecret`) ?? '', nonce: fromBase64(textOf(tx, `${at}/AAuthData`) ?? '') };
    };
    return {
      id,
      path: base,
      serverId,
      addr: textOf(tx, `${base}/AppAddr/1/Addr`) ?? '',
      authPref: (textOf(tx, `${base}/AAuthPref`) ?? 'DIGEST') as AuthType,
      client: cred('CLCRED'),
      server: cred('SRVCRED'),
    };
  }
  return undefined;
}

/** Persists a new nonce (from Chal / NextNonce) for the client or server credential. */
export async function storeNonce(tree: DmTree, account: DmAccount, level: AuthLevel, nonce: Uint8Array): Promise<void> {
  const path = `${account.path}/AppAuth/${LEVELS[level]}/AAuthData`;
  const tx = tree.begin();
  const node = tx.get(path);
  if (node) tx.put(path, { ...node, value: toBase64(nonce) });
  await tx.commit();
}
