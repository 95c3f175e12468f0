/**
 * DM tree ACLs (DM_TND 1.2): `Add=*&Get=*&Replace=srv1+srv2`. `&` separates commands, `+` server ids,
 * `*` means any server. A node without an ACL inherits the nearest ancestor's (tree.ts).
 */
import { DmStatusError } from './errors.ts';

export const ACL_COMMANDS = ['Add', 'Delete', 'Exec', 'Get', 'Replace'] as const;
export type AclCommand = (typeof ACL_COMMANDS)[number];
export type Acl = Partial<Record<AclCommand, string[]>>;

export const ROOT_ACL = 'Add=*&Get=*&Replace=*';

/** Parses an ACL string; an unknown command or an empty server id is a 400 (the Replace of an ACL fails). */
export function parseAcl(text: string): Acl {
  const acl: Acl = {};
  if (text.trim() === '') return acl;
  for (const entry of text.split('&')) {
    const eq = entry.indexOf('=');
    const name = (eq < 0 ? entry : entry.slice(0, eq)) as AclCommand;
    if (!ACL_COMMANDS.includes(name)) throw new DmStatusError(400, `ACL names an unknown command`);
    const servers = eq < 0 ? [] : entry.slice(eq + 1).split('+');
    if (servers.some((id) => id === '')) throw new DmStatusError(400, 'ACL has an empty server id');
    acl[name] = [...(acl[name] ?? []), ...servers];
  }
  return acl;
}

export function formatAcl(acl: Acl): string {
  return ACL_COMMANDS.filter((name) => acl[name] !== undefined)
    .map((name) => `${name}=${(acl[name] as string[]).join('+')}`)
    .join('&');
}

/** May `serverId` run `command` under this ACL? */
export function aclAllows(acl: Acl, command: AclCommand, serverId: string): boolean {
  const servers = acl[command];
  return servers !== undefined && (servers.includes('*') || servers.includes(serverId));
}
