/**
 * The element schema of the model, as data: for each content model, its children in canonical
 * (DTD) order, which model property each lands in and how. The builder reads it to map a token to a
 * property (no generic tree), and both encoders walk it to write a model in canonical order, so the
 * three agree by construction.
 *
 * The readable form is schema-spec.ts (`SPEC`); here are the tables compiled from it, as string
 * literals: a model is an index, a field three characters of `FIELDS`. As objects (a Field per
 * child, a Schema with its arrays per element type, a Map of commands) the same data was 190
 * objects and ~25 KB of the QuickJS heap, and the readable form with its parser ~9 KB, held by
 * every agent that runs OMA DM for as long as it runs; these literals are ~5 KB.
 */
import { codeForName } from '../../wasm/src/syncml-tokens.ts';

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

/** A content model: its index in SPEC. */
export type Schema = number;

/**
 * The models the encoders and the builder start from (their index in SPEC; test/syncml/schema.test.ts
 * checks): a `const enum`, inlined where used (module constants are each a variable and a name, an
 * atom, in a QuickJS heap); the constants below name them for tests.
 */
export const enum Model {
  SyncHdr = 8,
  SyncBody = 20,
  SyncML = 21,
}
export const SYNC_HDR: Schema = Model.SyncHdr;
export const SYNC_BODY: Schema = Model.SyncBody;
export const SYNCML: Schema = Model.SyncML;

// compileSchema(SPEC), schema-spec.ts. FIELDS: per field, 3 characters: element code, kind | child
// model << 3, index into PROPS. Model `s` has the fields OFFSETS[s] ≤ f < OFFSETS[s + 1].
export const FIELDS = '\u010a\x00\x00\u010f\x00\x01\u0111\x02\x02\u0109\x00\x03\u0108\x00\x04\u0116\x02\x05\u0107\x00\x06\u0113\x00\x07\u010b\x00\x08\u0112\x00\x09\u0105\x03\x0a\u0114\x00\x0b\u0110\x00\x0c\u010c\x00\x0d\u0115\x00\x0e\u0106\x01\x0f\u010d\x0b\x10\x17\x00\x11\x16\x00\x12\x1a\x13\x13\x0f\x05\x14\x1a\x13\x13.\x1b\x15\x27\x1b\x169\x1b\x17:\x1b\x18\x1a\x13\x13\x0f\x05\x144\x02\x19.\x1b\x15\x27\x1b\x161\x00\x1a2\x00\x1b%\x00\x1c\x1b\x00\x1d.\x1b\x15\x27\x1b\x16!\x00\x1e\x1d\x02\x1f\x0e# \x1a\x13\x13\x0b\x00!\x1d\x02\x1f\x0e# \x1a\x13\x13\x144"\x0b\x00!\x1d\x02\x1f\x15\x00#\x0e# \x1a\x13\x13\x144"\x0b\x00!\x1d\x02\x1f\x07\x02$&\x02%\x0e# \x1a\x13\x13\x144"\x0b\x00!\x1d\x02\x1f\x0e# \x0f\x05\x14<\x00&\x144"\x0b\x00!\x1d\x02\x1f\x0e# \x1a\x13\x13<\x00&\x144"\x0b\x00!.\x1b\x15\x27\x1b\x16\x0e# \x1a\x13\x13\x19<\x27\x0b\x00!\x1c\x00(\x0c\x00)\x1a\x13\x13/\x01*(\x01+\x144"\x0b\x00!\x1c\x00(\x0c\x00)\x0a\x00,/\x01*(\x01+\x0e# \x09+-\x0f\x05\x14\x144"\x0b\x00!\x1d\x02\x1f\x1a\x13\x13\x05N.\x06f.\x08\x8e.\x0dN.\x10^.\x11n.\x13V.\x18v.;N. N.$\x96.*\x9e.\x0b\x00!\x1d\x02\x1f\x1a\x13\x13\x05N.\x06f.\x08\x8e.\x0dN.\x10^.\x11n.\x13V.\x18v.;N. N.*\x9e.\x0b\x00!\x1d\x02\x1f\x0e# .\x1b\x15\x27\x1b\x16\x1a\x13\x133\x00/\x05N.\x08\x8e.\x0dN.\x10^.;N. N.$\x96.\x05N.\x06f.\x08\x8e.\x0dN.\x10^.\x11n.\x13V.\x18v.;N.\x1fV. N."~.$\x96.)\x86.*\x9e.\x12\x020,C1+\xa32';
export const OFFSETS = '\x00\x02\x05\x11\x13\x15\x16\x1d\x1f).4;AGMT^m{\x89\x99\x9b';
export const PROPS = 'last,next,sharedMem,freeMem,freeID,fieldLevel,format,type,mark,size,anchor,version,nextNonce,maxMsgSize,maxObjSize,emi,mem,locURI,locName,meta,data,target,source,sourceParent,targetParent,moreData,verDTD,verProto,sessionID,msgID,respURI,noResp,cred,cmdID,items,lang,archive,sftDel,correlator,mapItems,msgRef,cmdRef,targetRefs,sourceRefs,refCmd,chal,commands,numberOfChanges,final,hdr,body'.split(',');

/** The field of `schema` an element code lands in, or -1. A scan: a model has at most 16 fields. */
export function fieldByCode(schema: Schema, code: number): number {
  const end = OFFSETS.charCodeAt(schema + 1);
  for (let f = OFFSETS.charCodeAt(schema); f < end; f++) if (FIELDS.charCodeAt(f * 3) === code) return f;
  return -1;
}

/** The model of command `cmd` (the message body accepts every command), or -1 when it is none. */
export function commandSchema(cmd: string): Schema {
  const f = fieldByCode(Model.SyncBody, codeForName(cmd));
  const word = f < 0 ? 0 : FIELDS.charCodeAt(f * 3 + 1);
  return (word & 7) === FieldKind.Command ? word >> 3 : -1;
}
