/**
 * The element schema of the model, as data: for each element type, its children in canonical (DTD)
 * order, which model property each lands in and how. The builder reads it to map a token to a
 * property (one array lookup per element, no generic tree), and both encoders walk it to write a
 * model in canonical order, so the three agree by construction.
 */
import { codeForName, TAG_UNKNOWN } from '../../wasm/src/syncml-tokens.ts';

export const enum FieldKind {
  /** Trimmed text, one value. */
  Text = 0,
  /** Trimmed text, repeated element → string[]. */
  TextList = 1,
  /** Empty element → true. */
  Flag = 2,
  /** One child element of `schema`. */
  Child = 3,
  /** Repeated child element → array. */
  ChildList = 4,
  /** `Data`: text, bytes or raw elements, kept exactly. */
  Data = 5,
  /** A command (its element name is the command) → pushed onto `commands`. */
  Command = 6,
}

export interface Field {
  name: string;
  code: number;
  prop: string;
  kind: FieldKind;
  schema: Schema | undefined;
}

export interface Schema {
  name: string;
  code: number;
  /** Set on command schemas: the `cmd` discriminator. */
  command: string | undefined;
  /** Canonical order. Commands appear once, as a Command field named `*`. */
  fields: Field[];
  /** Container schemas: the command fields it accepts (one shared Field per command). */
  commands: readonly Field[] | undefined;
}

/**
 * The field an element code lands in, or undefined. A scan, not a Map per schema: a schema has at
 * most a dozen fields, and 35 Maps with 230 records (plus a Field object per schema and field) cost
 * 36 KB of the QuickJS heap; Fields are now shared between schemas and found by comparing codes.
 */
export function fieldByCode(schema: Schema, code: number): Field | undefined {
  for (const field of schema.fields) if (field.code === code) return field;
  const commands = schema.commands;
  if (commands !== undefined) for (const field of commands) if (field.code === code) return field;
  return undefined;
}

function code(name: string): number {
  const value = codeForName(name);
  if (value === TAG_UNKNOWN) throw new Error(`syncml schema: no code for ${name}`);
  return value;
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** name, kind, then the child schema or the property name (default: lowerFirst(name), +s for lists), then a property name for a child. */
type FieldSpec = [name: string, kind: FieldKind, schemaOrProp?: Schema | string, childProp?: string];

/** Identical fields (`CmdID`, `Meta`, `Item`, `LocURI`…) are one shared object; cleared once the schemas are built. */
const interned = new Map<string, Field>();

function schema(name: string, specs: FieldSpec[], command?: string): Schema {
  const result: Schema = { name, code: code(name), command, fields: [], commands: undefined };
  define(result, specs);
  return result;
}

function define(target: Schema, specs: FieldSpec[]): void {
  for (const [name, kind, extra, childProp] of specs) {
    const child = typeof extra === 'object' ? extra : undefined;
    let prop = typeof extra === 'string' ? extra : (childProp ?? lowerFirst(name));
    if (kind === FieldKind.TextList || kind === FieldKind.ChildList) prop = typeof extra === 'string' ? extra : `${prop}s`;
    const key = `${name} ${kind} ${prop} ${child?.name}`;
    let field = interned.get(key);
    if (field === undefined) interned.set(key, (field = { name, code: code(name), prop, kind, schema: child }));
    target.fields.push(field);
  }
}

const T = FieldKind.Text;
const F = FieldKind.Flag;

export const ANCHOR = schema('Anchor', [['Last', T], ['Next', T]]);
export const MEM = schema('Mem', [['SharedMem', F], ['FreeMem', T], ['FreeID', T]]);
export const META = schema('Meta', [
  ['FieldLevel', F], ['Format', T], ['Type', T], ['Mark', T], ['Size', T], ['Anchor', FieldKind.Child, ANCHOR],
  ['Version', T], ['NextNonce', T], ['MaxMsgSize', T], ['MaxObjSize', T], ['EMI', FieldKind.TextList, 'emi'],
  ['Mem', FieldKind.Child, MEM],
]);
const location = (name: string) => schema(name, [['LocURI', T], ['LocName', T]]);
export const TARGET = location('Target');
export const SOURCE = location('Source');
const SOURCE_PARENT = location('SourceParent');
const TARGET_PARENT = location('TargetParent');
export const CRED = schema('Cred', [['Meta', FieldKind.Child, META], ['Data', FieldKind.Data]]);
export const CHAL = schema('Chal', [['Meta', FieldKind.Child, META]]);
export const ITEM = schema('Item', [
  ['Target', FieldKind.Child, TARGET], ['Source', FieldKind.Child, SOURCE], ['SourceParent', FieldKind.Child, SOURCE_PARENT],
  ['TargetParent', FieldKind.Child, TARGET_PARENT], ['Meta', FieldKind.Child, META], ['Data', FieldKind.Data], ['MoreData', F],
]);
const MAP_ITEM = schema('MapItem', [['Target', FieldKind.Child, TARGET], ['Source', FieldKind.Child, SOURCE]]);

export const SYNC_HDR = schema('SyncHdr', [
  ['VerDTD', T], ['VerProto', T], ['SessionID', T], ['MsgID', T], ['Target', FieldKind.Child, TARGET],
  ['Source', FieldKind.Child, SOURCE], ['RespURI', T], ['NoResp', F], ['Cred', FieldKind.Child, CRED], ['Meta', FieldKind.Child, META],
]);

const items: FieldSpec = ['Item', FieldKind.ChildList, ITEM];
const cred: FieldSpec = ['Cred', FieldKind.Child, CRED];
const meta: FieldSpec = ['Meta', FieldKind.Child, META];
const cmdID: FieldSpec = ['CmdID', T, 'cmdID'];
const noResp: FieldSpec = ['NoResp', F];
const itemCommand = (name: string, between: FieldSpec[] = []) => schema(name, [cmdID, noResp, ...between, cred, meta, items], name);

const COMMANDS: Schema[] = [
  itemCommand('Add'),
  schema('Alert', [cmdID, noResp, cred, ['Data', FieldKind.Data], ['Correlator', T], items], 'Alert'),
  schema('Atomic', [cmdID, noResp, meta], 'Atomic'),
  itemCommand('Copy'),
  itemCommand('Delete', [['Archive', F], ['SftDel', F]]),
  schema('Exec', [cmdID, noResp, cred, meta, ['Correlator', T], items], 'Exec'),
  itemCommand('Get', [['Lang', T]]),
  schema('Map', [cmdID, ['Target', FieldKind.Child, TARGET], ['Source', FieldKind.Child, SOURCE], cred, meta, ['MapItem', FieldKind.ChildList, MAP_ITEM]], 'Map'),
  itemCommand('Move'),
  itemCommand('Put', [['Lang', T]]),
  itemCommand('Replace'),
  schema('Results', [cmdID, ['MsgRef', T], ['CmdRef', T], meta, ['TargetRef', FieldKind.TextList], ['SourceRef', FieldKind.TextList], items], 'Results'),
  schema('Sequence', [cmdID, noResp, meta], 'Sequence'),
  schema('Status', [
    cmdID, ['MsgRef', T], ['CmdRef', T], ['Cmd', T, 'refCmd'], ['TargetRef', FieldKind.TextList], ['SourceRef', FieldKind.TextList],
    cred, ['Chal', FieldKind.Child, CHAL], ['Data', FieldKind.Data], items,
  ], 'Status'),
  schema('Sync', [cmdID, noResp, cred, ['Target', FieldKind.Child, TARGET], ['Source', FieldKind.Child, SOURCE], meta, ['NumberOfChanges', T]], 'Sync'),
];

/** Command schema by `cmd` name. */
export const COMMAND_BY_NAME: ReadonlyMap<string, Schema> = new Map(COMMANDS.map((s) => [s.name, s]));

/** The field of each command inside a container (the same for every container). */
const COMMAND_FIELDS: readonly Field[] = COMMANDS.map((command) => ({ name: command.name, code: command.code, prop: 'commands', kind: FieldKind.Command, schema: command }));
const COMMANDS_MARKER: Field = { name: '*', code: -1, prop: 'commands', kind: FieldKind.Command, schema: undefined };

/** Adds the command list to a container schema: one `*` field in order, the accepted commands. */
function acceptCommands(target: Schema, allowed: readonly Field[]): void {
  target.fields.push(COMMANDS_MARKER);
  target.commands = allowed;
}

const byName = (names: string[]) => COMMAND_FIELDS.filter((field) => names.includes(field.name));
// Nesting per the RepPro DTD: Atomic and Sequence hold the DM commands (and Sync/Map for DS); Sync holds the DS item commands.
acceptCommands(COMMAND_BY_NAME.get('Atomic') as Schema, byName(['Add', 'Alert', 'Atomic', 'Copy', 'Delete', 'Exec', 'Get', 'Map', 'Move', 'Replace', 'Sequence', 'Sync']));
acceptCommands(COMMAND_BY_NAME.get('Sequence') as Schema, byName(['Add', 'Alert', 'Atomic', 'Copy', 'Delete', 'Exec', 'Get', 'Map', 'Move', 'Replace', 'Sync']));
acceptCommands(COMMAND_BY_NAME.get('Sync') as Schema, byName(['Add', 'Atomic', 'Copy', 'Delete', 'Move', 'Replace', 'Sequence']));

export const SYNC_BODY = schema('SyncBody', []);
acceptCommands(SYNC_BODY, COMMAND_FIELDS);
define(SYNC_BODY, [['Final', F]]);

// The model calls them hdr/body.
export const SYNCML = schema('SyncML', [['SyncHdr', FieldKind.Child, SYNC_HDR, 'hdr'], ['SyncBody', FieldKind.Child, SYNC_BODY, 'body']]);
interned.clear();
