/**
 * The element schema in its readable form, and how it becomes the compact tables of schema.ts.
 * Not loaded by the agent: schema.ts holds the compiled tables as string literals (a parser and
 * this text would stay in the QuickJS heap for as long as the agent runs, ~4.6 KB), and
 * test/syncml/schema.test.ts checks that they are what `compileSchema` makes of `SPEC` (and
 * prints the new literals when SPEC changes).
 */
import { codeForName, TAG_UNKNOWN } from '../../wasm/src/syncml-tokens.ts';
import { FieldKind } from './schema.ts';

/**
 * Content models, `Model=Field Field …;` in canonical order. A field is an element name, then
 * `!` flag, `*` text list, `$` Data, `>Model` child, `>Model*` child list, `@Model` command (its
 * commands go to `commands`, written where the first command field stands); then `:prop` when the
 * model property is not the name with a lower-case first letter (+`s` for lists). Command sets
 * follow the RepPro DTD: Atomic and Sequence hold the DM commands (and Sync/Map for DS), Sync the
 * DS item commands; the message body every command.
 */
export const SPEC =
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

export interface CompiledSchema {
  /** Model names, by index (the roots: SyncML, Hdr, Body). */
  names: string[];
  /** Per field, 3 characters: element code, kind | child model << 3, index into props. */
  fields: string;
  /** Model `s` has the fields offsets[s] ≤ f < offsets[s + 1]. */
  offsets: string;
  props: string[];
}

export function compileSchema(spec: string = SPEC): CompiledSchema {
  const models = spec.split(';').map((model) => model.split(/[= ]/));
  const names = models.map((model) => model[0] as string);
  const props: string[] = [];
  const words: number[] = [];
  const offsets = [0];
  for (const model of models) {
    for (let i = 1; i < model.length; i++) {
      const match = /^(\w+)(?:([>@])(\w+))?([!*$]?)(?::(\w+))?$/.exec(model[i] as string);
      if (!match) throw new Error(`syncml schema: bad field ${model[i]}`);
      const [, name, sep, child, mark, prop] = match as string[];
      const kind = sep === '@' ? FieldKind.Command : sep ? (mark ? FieldKind.ChildList : FieldKind.Child) : mark === '!' ? FieldKind.Flag : mark === '*' ? FieldKind.TextList : mark ? FieldKind.Data : FieldKind.Text;
      const code = codeForName(name as string);
      const property = kind === FieldKind.Command ? 'commands' : (prop ?? (name as string).charAt(0).toLowerCase() + (name as string).slice(1) + (mark === '*' ? 's' : ''));
      if (code === TAG_UNKNOWN || (sep && !names.includes(child as string))) throw new Error(`syncml schema: bad field ${model[i]}`);
      if (!props.includes(property)) props.push(property);
      words.push(code, kind | (sep ? names.indexOf(child as string) << 3 : 0), props.indexOf(property));
    }
    offsets.push(words.length / 3);
  }
  return { names, fields: String.fromCharCode(...words), offsets: String.fromCharCode(...offsets), props };
}

/** A string as a TypeScript literal (printable ASCII as is, the rest escaped). */
export function stringLiteral(text: string): string {
  let out = "'";
  for (const char of text) {
    const c = char.charCodeAt(0);
    if (c >= 0x20 && c < 0x7f && char !== "'" && char !== '\\') out += char;
    else out += c < 0x100 ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}'`;
}
