/**
 * The element schema of the model, as data: for each content model, its children in canonical
 * (DTD) order, which model property each lands in and how. The builder reads it to map a token to a
 * property (no generic tree), and both encoders walk it to write a model in canonical order, so the
 * three agree by construction.
 *
 * Kept as numbers, not objects: a schema is an index, a field three words of one Uint16Array
 * (`FIELDS`). The readable form below is parsed once at load. As objects (a Field per child, a
 * Schema with its arrays per element type, a Map of commands) the same data was 190 objects and
 * ~25 KB of the QuickJS heap every OMA DM session holds for as long as the agent runs.
 */
import { codeForName, TAG_UNKNOWN } from '../../wasm/src/syncml-tokens.ts';

export const enum FieldKind {
  /** Trimmed text, one value. */
  Text = 0,
  /** Trimmed text, repeated element → string[]. */
  TextList = 1,
  /** Empty element → true. */
  Flag = 2,
  /** One child element of the field's schema. */
  Child = 3,
  /** Repeated child element → array. */
  ChildList = 4,
  /** `Data`: text, bytes or raw elements, kept exactly. */
  Data = 5,
  /** A command (its element name is the command) → pushed onto `commands`, with `cmd` = its name. */
  Command = 6,
}

/** A content model: an index into `OFFSETS`. */
export type Schema = number;

/**
 * Content models, `Model=Field Field …;` in canonical order. A field is an element name, then
 * `!` flag, `*` text list, `$` Data, `>Model` child, `>Model*` child list, `@Model` command (its
 * commands go to `commands`, written where the first command field stands); then `:prop` when the
 * model property is not the name with a lower-case first letter (+`s` for lists). Command sets
 * follow the RepPro DTD: Atomic and Sequence hold the DM commands (and Sync/Map for DS), Sync the
 * DS item commands; the message body every command.
 */
const SPEC =
  'Anchor=Last Next;' +
  'Mem=SharedMem! FreeMem FreeID;' +
  'Meta=FieldLevel! Format Type Mark Size Anchor>Anchor Version NextNonce MaxMsgSize MaxObjSize EMI*:emi Mem>Mem;' +
  'Loc=LocURI LocName;' +
  'Cred=Meta>Meta Data$;' +
  'Chal=Meta>Meta;' +
  'Item=Target>Loc Source>Loc SourceParent>Loc TargetParent>Loc Meta>Meta Data$ MoreData!;' +
  'MapItem=Target>Loc Source>Loc;' +
  'Hdr=VerDTD VerProto SessionID MsgID Target>Loc Source>Loc RespURI NoResp! Cred>Cred Meta>Meta;' +
  'Items=CmdID NoResp! Cred>Cred Meta>Meta Item>Item*;' +
  'LangItems=CmdID NoResp! Lang Cred>Cred Meta>Meta Item>Item*;' +
  'Delete=CmdID NoResp! Archive! SftDel! Cred>Cred Meta>Meta Item>Item*;' +
  'Alert=CmdID NoResp! Cred>Cred Data$ Correlator Item>Item*;' +
  'Exec=CmdID NoResp! Cred>Cred Meta>Meta Correlator Item>Item*;' +
  'Map=CmdID Target>Loc Source>Loc Cred>Cred Meta>Meta MapItem>MapItem*;' +
  'Results=CmdID MsgRef CmdRef Meta>Meta TargetRef* SourceRef* Item>Item*;' +
  'Status=CmdID MsgRef CmdRef Cmd:refCmd TargetRef* SourceRef* Cred>Cred Chal>Chal Data$ Item>Item*;' +
  'Atomic=CmdID NoResp! Meta>Meta Add@Items Alert@Alert Atomic@Atomic Copy@Items Delete@Delete Exec@Exec Get@LangItems Map@Map Move@Items Replace@Items Sequence@Sequence Sync@Sync;' +
  'Sequence=CmdID NoResp! Meta>Meta Add@Items Alert@Alert Atomic@Atomic Copy@Items Delete@Delete Exec@Exec Get@LangItems Map@Map Move@Items Replace@Items Sync@Sync;' +
  'Sync=CmdID NoResp! Cred>Cred Target>Loc Source>Loc Meta>Meta NumberOfChanges Add@Items Atomic@Atomic Copy@Items Delete@Delete Move@Items Replace@Items Sequence@Sequence;' +
  'Body=Add@Items Alert@Alert Atomic@Atomic Copy@Items Delete@Delete Exec@Exec Get@LangItems Map@Map Move@Items Put@LangItems Replace@Items Results@Results Sequence@Sequence Status@Status Sync@Sync Final!;' +
  'SyncML=SyncHdr>Hdr:hdr SyncBody>Body:body';

/** The models the encoders and the builder start from (their place in SPEC, checked at load). */
export const SYNC_HDR: Schema = 8;
export const SYNC_BODY: Schema = 20;
export const SYNCML: Schema = 21;

/** Model property names, by the index a field holds. */
export const PROPS: string[] = [];

function parse(): [fields: Uint16Array, offsets: Uint16Array] {
  const models = SPEC.split(';').map((model) => model.split(/[= ]/));
  const names = models.map((model) => model[0]);
  if (names[SYNC_HDR] !== 'Hdr' || names[SYNC_BODY] !== 'Body' || names[SYNCML] !== 'SyncML') throw new Error('syncml schema: root models moved');
  const words: number[] = [];
  const offsets = [0];
  for (const model of models) {
    for (let i = 1; i < model.length; i++) {
      const [, name, sep, child, mark, prop] = /^(\w+)(?:([>@])(\w+))?([!*$]?)(?::(\w+))?$/.exec(model[i] as string) as string[];
      const kind = sep === '@' ? FieldKind.Command : sep ? (mark ? FieldKind.ChildList : FieldKind.Child) : mark === '!' ? FieldKind.Flag : mark === '*' ? FieldKind.TextList : mark ? FieldKind.Data : FieldKind.Text;
      const code = codeForName(name as string);
      const property = kind === FieldKind.Command ? 'commands' : (prop ?? (name as string).charAt(0).toLowerCase() + (name as string).slice(1) + (mark === '*' ? 's' : ''));
      if (code === TAG_UNKNOWN || (sep && !names.includes(child))) throw new Error(`syncml schema: bad field ${model[i]}`);
      if (!PROPS.includes(property)) PROPS.push(property);
      words.push(code, kind | (sep ? names.indexOf(child) << 3 : 0), PROPS.indexOf(property));
    }
    offsets.push(words.length / 3);
  }
  return [Uint16Array.from(words), Uint16Array.from(offsets)];
}

/** Per field, 3 words: element code, kind | child model << 3, index into PROPS. Model `s` has the fields OFFSETS[s] ≤ f < OFFSETS[s + 1]. */
export const [FIELDS, OFFSETS] = parse();

/** The field of `schema` an element code lands in, or -1. A scan: a model has at most 16 fields. */
export function fieldByCode(schema: Schema, code: number): number {
  const end = OFFSETS[schema + 1] as number;
  for (let f = OFFSETS[schema] as number; f < end; f++) if (FIELDS[f * 3] === code) return f;
  return -1;
}

/** The model of command `cmd` (the message body accepts every command), or -1 when it is none. */
export function commandSchema(cmd: string): Schema {
  const f = fieldByCode(SYNC_BODY, codeForName(cmd));
  const word = f < 0 ? 0 : (FIELDS[f * 3 + 1] as number);
  return (word & 7) === FieldKind.Command ? word >> 3 : -1;
}
