/**
 * The typed SyncML message model (SyncML RepPro 1.1/1.2 as used by OMA DM 1.2, plus the DS commands
 * met in the corpus). Plain data: what the builder (build.ts) produces from a token stream and what
 * the encoders (xml-encode.ts, wbxml-encode.ts) write. Property names are the element names in
 * camelCase; an element that may repeat is an array, an empty flag element (`<Final/>`) a boolean.
 *
 * Leaf text other than `Data` is trimmed of XML white space (libwbxml and every peer treat it as
 * insignificant); `Data` keeps its content exactly.
 */

/** Element content kept as written when the model has no place for it (lenient mode): raw XML. */
export interface XmlElement {
  name: string;
  children: XmlContent;
}
export type XmlContent = Array<XmlElement | string>;

/**
 * `Data` content: text (XML text and CDATA, WBXML STR_I/STR_T), bytes (WBXML OPAQUE: binary, or a
 * nested WBXML document — see `decodeNestedData`), or elements (XML inside Data, e.g. a DDF
 * `MgmtTree` or Windows' `<Data><Enabled/></Data>`).
 */
export type DataValue = string | Uint8Array | XmlContent;

/** Elements a lenient decode found where the model has no field for them, in document order. */
export interface Extensible {
  extra?: XmlContent;
}

export interface Anchor extends Extensible {
  last?: string;
  next?: string;
}

export interface Mem extends Extensible {
  sharedMem?: boolean;
  freeMem?: string;
  freeID?: string;
}

/** MetInf (`syncml:metinf`, WBXML code page 1). */
export interface Meta extends Extensible {
  fieldLevel?: boolean;
  format?: string;
  type?: string;
  mark?: string;
  size?: string;
  anchor?: Anchor;
  version?: string;
  nextNonce?: string;
  maxMsgSize?: string;
  maxObjSize?: string;
  emi?: string[];
  mem?: Mem;
}

export interface Location extends Extensible {
  locURI?: string;
  locName?: string;
}

export interface Cred extends Extensible {
  meta?: Meta;
  data?: DataValue;
}

export interface Chal extends Extensible {
  meta?: Meta;
}

export interface Item extends Extensible {
  target?: Location;
  source?: Location;
  sourceParent?: Location;
  targetParent?: Location;
  meta?: Meta;
  data?: DataValue;
  moreData?: boolean;
}

export interface SyncHdr extends Extensible {
  verDTD?: string;
  verProto?: string;
  sessionID?: string;
  msgID?: string;
  target?: Location;
  source?: Location;
  respURI?: string;
  noResp?: boolean;
  cred?: Cred;
  meta?: Meta;
}

interface CommandBase extends Extensible {
  cmdID?: string;
  noResp?: boolean;
  cred?: Cred;
  meta?: Meta;
}

/** Add, Copy, Replace, Move, Put, Get, Delete: items on nodes. */
export interface ItemCommand extends CommandBase {
  cmd: 'Add' | 'Copy' | 'Replace' | 'Move' | 'Put' | 'Get' | 'Delete';
  lang?: string;
  archive?: boolean;
  sftDel?: boolean;
  items?: Item[];
}

export interface Alert extends CommandBase {
  cmd: 'Alert';
  data?: DataValue;
  correlator?: string;
  items?: Item[];
}

export interface Exec extends CommandBase {
  cmd: 'Exec';
  correlator?: string;
  items?: Item[];
}

export interface MapItem extends Extensible {
  target?: Location;
  source?: Location;
}

export interface MapCommand extends CommandBase {
  cmd: 'Map';
  target?: Location;
  source?: Location;
  mapItems?: MapItem[];
}

/** Atomic, Sequence and (DS) Sync hold commands. */
export interface Container extends CommandBase {
  cmd: 'Atomic' | 'Sequence' | 'Sync';
  target?: Location;
  source?: Location;
  numberOfChanges?: string;
  commands?: Command[];
}

export interface Status extends Extensible {
  cmd: 'Status';
  cmdID?: string;
  msgRef?: string;
  cmdRef?: string;
  /** The name of the command this status answers (`<Cmd>`). */
  refCmd?: string;
  targetRefs?: string[];
  sourceRefs?: string[];
  cred?: Cred;
  chal?: Chal;
  data?: DataValue;
  items?: Item[];
}

export interface Results extends Extensible {
  cmd: 'Results';
  cmdID?: string;
  msgRef?: string;
  cmdRef?: string;
  meta?: Meta;
  targetRefs?: string[];
  sourceRefs?: string[];
  items?: Item[];
}

export type Command = ItemCommand | Alert | Exec | MapCommand | Container | Status | Results;
export type CommandName = Command['cmd'];

export interface SyncBody extends Extensible {
  commands: Command[];
  final?: boolean;
}

export interface SyncMLMessage extends Extensible {
  hdr?: SyncHdr;
  body: SyncBody;
}

export type SyncmlEncoding = 'xml' | 'wbxml';

/** The SyncML version of a message: VerDTD (then VerProto's `/1.x`), never the WBXML public id. */
export function messageVersion(message: SyncMLMessage): string | undefined {
  const dtd = message.hdr?.verDTD;
  if (dtd) return dtd;
  const proto = message.hdr?.verProto;
  const slash = proto ? proto.lastIndexOf('/') : -1;
  return proto && slash >= 0 ? proto.slice(slash + 1) : undefined;
}

/** Text of a Data value (bytes as UTF-8, elements by their text content). */
export function dataText(value: DataValue | undefined, decodeUtf8: (bytes: Uint8Array) => string): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  if (value instanceof Uint8Array) return decodeUtf8(value);
  let out = '';
  for (const child of value) out += typeof child === 'string' ? child : dataText(child.children, decodeUtf8);
  return out;
}
