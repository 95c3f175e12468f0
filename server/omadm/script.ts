/**
 * What the reference DM server says in a session: a script of steps, one server message each.
 * A step is a list of management commands (CmdIDs are assigned when the message is built), so a
 * test reads like the session it drives: `[get('./DevInfo/Mod')], [replace(...), exec(...)]`.
 */
import type { Alert, Command, Container, Exec, ItemCommand } from '../../agent/syncml/model.ts';

export type Step = Command[];

/** Where a node value goes: a LocURI, the data, and optionally its format and type. */
export interface NodeValue {
  uri: string;
  data?: string;
  format?: string;
  type?: string;
}

function item({ uri, data, format, type }: NodeValue): NonNullable<ItemCommand['items']>[number] {
  const meta = format !== undefined || type !== undefined ? { meta: { ...(format !== undefined ? { format } : {}), ...(type !== undefined ? { type } : {}) } } : {};
  return { target: { locURI: uri }, ...meta, ...(data !== undefined ? { data } : {}) };
}

export const get = (...uris: string[]): ItemCommand => ({ cmd: 'Get', items: uris.map((uri) => ({ target: { locURI: uri } })) });
export const replace = (...values: NodeValue[]): ItemCommand => ({ cmd: 'Replace', items: values.map(item) });
export const add = (...values: NodeValue[]): ItemCommand => ({ cmd: 'Add', items: values.map(item) });
export const del = (...uris: string[]): ItemCommand => ({ cmd: 'Delete', items: uris.map((uri) => ({ target: { locURI: uri } })) });
export const exec = (uri: string, correlator?: string, data?: string): Exec => ({
  cmd: 'Exec',
  ...(correlator !== undefined ? { correlator } : {}),
  items: [{ target: { locURI: uri }, ...(data !== undefined ? { data } : {}) }],
});
export const atomic = (...commands: Command[]): Container => ({ cmd: 'Atomic', commands });
export const sequence = (...commands: Command[]): Container => ({ cmd: 'Sequence', commands });

/** User interaction alerts (DM_Protocol 1.2 §10.1): 1100 display, 1101 confirm, 1102 text input, 1103/1104 choices. */
export type UserAlertCode = '1100' | '1101' | '1102' | '1103' | '1104';

export function userAlert(code: UserAlertCode, text: string, options: { minDisplayTime?: number; maxDisplayTime?: number; defaultResponse?: string; choices?: string[] } = {}): Alert {
  const params = [
    options.minDisplayTime !== undefined ? `MINDT=${options.minDisplayTime}` : '',
    options.maxDisplayTime !== undefined ? `MAXDT=${options.maxDisplayTime}` : '',
    options.defaultResponse !== undefined ? `DR=${options.defaultResponse}` : '',
  ].filter((p) => p !== '');
  return {
    cmd: 'Alert',
    data: code,
    items: [{ data: params.join('&') }, { data: text }, ...(options.choices ?? []).map((choice) => ({ data: choice }))],
  };
}

/** What the device checks the package against (FUMO PkgVersion and the Ext/Size, Ext/SHA256 leaves). */
export interface PackageFacts {
  version: string;
  size: number;
  /** Lower-case hex SHA-256. */
  sha256: string;
}

/**
 * FUMO: set the package URL (and, when known, its version, size and digest under Ext), then Exec
 * the operation (the correlator comes back in the Generic Alert).
 */
export function fumoDownload(instance: string, url: string, correlator: string, operation: 'Download' | 'DownloadAndUpdate' = 'Download', facts?: PackageFacts): Command[] {
  const base = `./FUMO/${instance}`;
  const described = facts
    ? [replace({ uri: `${base}/PkgVersion`, data: facts.version }, { uri: `${base}/Ext/Size`, data: String(facts.size) }, { uri: `${base}/Ext/SHA256`, data: facts.sha256 })]
    : [];
  return [replace({ uri: `${base}/${operation}/PkgURL`, data: url }), ...described, exec(`${base}/${operation}`, correlator)];
}

/**
 * FUMO with the package inline: Replace `Update/PkgData` (Format bin) as a large object, one
 * MoreData chunk per server message (the first carries the whole Size), then Exec Update in the
 * last message. `facts` adds PkgVersion, Ext/Size and Ext/SHA256 first. Format `bin` suits WBXML
 * (opaque data); `b64` an XML session.
 */
export function fumoPkgData(instance: string, pkg: Uint8Array, correlator: string, chunkBytes: number, facts?: Partial<PackageFacts>, format: 'bin' | 'b64' = 'bin'): Step[] {
  // Format b64 (what an XML session needs): the base64 text is the object, Size counts its characters.
  const object: Uint8Array | string = format === 'b64' ? Buffer.from(pkg).toString('base64') : pkg;
  const base = `./FUMO/${instance}`;
  const described = facts
    ? [
        replace(
          ...(facts.version !== undefined ? [{ uri: `${base}/PkgVersion`, data: facts.version }] : []),
          ...(facts.size !== undefined ? [{ uri: `${base}/Ext/Size`, data: String(facts.size) }] : []),
          ...(facts.sha256 !== undefined ? [{ uri: `${base}/Ext/SHA256`, data: facts.sha256 }] : []),
        ),
      ]
    : [];
  const steps: Step[] = [];
  for (let at = 0; at < object.length || at === 0; at += chunkBytes) {
    const last = at + chunkBytes >= object.length;
    const item = {
      target: { locURI: `${base}/Update/PkgData` },
      meta: { format, ...(at === 0 ? { size: String(object.length) } : {}) },
      data: object.slice(at, at + chunkBytes),
      ...(last ? {} : { moreData: true }),
    };
    steps.push([...(at === 0 ? described : []), { cmd: 'Replace', items: [item] } as ItemCommand, ...(last ? [exec(`${base}/Update`, correlator)] : [])]);
    if (last) break;
  }
  return steps;
}

export const fumoUpdate = (instance: string, correlator: string): Exec => exec(`./FUMO/${instance}/Update`, correlator);

const SERVER_COMMANDS = new Set(['Get', 'Add', 'Replace', 'Delete', 'Copy', 'Exec', 'Alert', 'Atomic', 'Sequence']);

/**
 * A script from JSON (`{ "steps": [[command, …], …] }`, commands in the model's shape, e.g.
 * `{ "cmd": "Get", "items": [{ "target": { "locURI": "./DevInfo/Mod" } }] }`). Throws a
 * TypeError naming the first bad place.
 */
export function parseScript(json: unknown): Step[] {
  const steps = (json as { steps?: unknown })?.steps;
  if (!Array.isArray(steps)) throw new TypeError('script: expected { "steps": [[command, …], …] }');
  const check = (command: unknown, where: string): void => {
    const c = command as { cmd?: unknown; commands?: unknown };
    if (typeof c !== 'object' || c === null || typeof c.cmd !== 'string' || !SERVER_COMMANDS.has(c.cmd)) throw new TypeError(`script: ${where} is not a server command (${[...SERVER_COMMANDS].join(', ')})`);
    if ((c.cmd === 'Atomic' || c.cmd === 'Sequence') && c.commands !== undefined) {
      if (!Array.isArray(c.commands)) throw new TypeError(`script: ${where}.commands must be an array`);
      c.commands.forEach((inner, i) => check(inner, `${where}.commands[${i}]`));
    }
  };
  steps.forEach((step, i) => {
    if (!Array.isArray(step)) throw new TypeError(`script: steps[${i}] must be an array of commands`);
    step.forEach((command, j) => check(command, `steps[${i}][${j}]`));
  });
  return steps as Step[];
}
