/**
 * Element names for a WBXML document nested in a binary `Data` (OPAQUE): which code-page table
 * applies depends on the nested document's own public id, not on the SyncML message around it.
 * - SyncML 1.1/1.2 (0x0FD3, 0x1201): SyncML page 0 and MetInf page 1 (syncml-tokens.ts);
 * - SyncML DevInf 1.1/1.2 (0x0FD4, 0x1203, or a "DevInf" literal id): the DevInf page 0 (OMA-TS-DS_DevInf
 *   WBXML token table) — DS servers send their device info this way;
 * - OMA DM DDF 1.2 (literal id "-//OMA//DTD-DM-DDF 1.2//EN"): page 2 (OMA-TS-DM_TND-V1_2 token table).
 * libwbxml prints nested documents with the same tables, so a decode compares with its output.
 */
import { tagName } from '../../wasm/src/syncml-tokens.ts';

const FIRST_TOKEN = 0x05;

/** DevInf code page 0, tokens 0x05…0x34 in order ('' = unassigned 0x2F). */
export const DEVINF_TAGS = [
  'CTCap', 'CTType', 'DataStore', 'DataType', 'DevID', 'DevInf', 'DevTyp', 'DisplayName', 'DSMem', 'Ext', 'FwV', 'HwV',
  'Man', 'MaxGUIDSize', 'MaxID', 'MaxMem', 'Mod', 'OEM', 'ParamName', 'PropName', 'Rx', 'Rx-Pref', 'SharedMem',
  'MaxSize', 'SourceRef', 'SwV', 'SyncCap', 'SyncType', 'Tx', 'Tx-Pref', 'ValEnum', 'VerCT', 'VerDTD', 'XNam', 'XVal',
  'UTC', 'SupportNumberOfChanges', 'SupportLargeObjs', 'Property', 'PropParam', 'MaxOccur', 'NoTruncate', '',
  'Filter-Rx', 'FilterCap', 'FilterKeyword', 'FieldLevel', 'SupportHierarchicalSync',
] as const;

/** DM DDF 1.2 code page 2, tokens 0x05…0x3C in order. */
export const DMDDF_TAGS = [
  'AccessType', 'ACL', 'Add', 'b64', 'bin', 'bool', 'chr', 'CaseSense', 'CIS', 'Copy', 'CS', 'date', 'DDFName',
  'DefaultValue', 'Delete', 'Description', 'DFFormat', 'DFProperties', 'DFTitle', 'DFType', 'Dynamic', 'Exec',
  'float', 'Format', 'Get', 'int', 'Man', 'MgmtTree', 'MIME', 'Mod', 'Name', 'Node', 'node', 'NodeName', 'null',
  'Occurrence', 'One', 'OneOrMore', 'OneOrN', 'Path', 'Permanent', 'Replace', 'RTProperties', 'Scope', 'Size',
  'time', 'Title', 'TStamp', 'Type', 'Value', 'VerDTD', 'VerNo', 'xml', 'ZeroOrMore', 'ZeroOrN', 'ZeroOrOne',
] as const;

const PUBLIC_ID_DEVINF_11 = 0x0fd4;
const PUBLIC_ID_DEVINF_12 = 0x1203;
const PAGE_DMDDF = 2;

export type TagNames = (code: number) => string | undefined;

function fromTable(table: readonly string[], page: number): TagNames {
  return (code) => (code >> 8 === page ? table[(code & 0xff) - FIRST_TOKEN] || undefined : undefined);
}

// Pure: a bundle whose code never decodes a nested document (the DM agent) drops the tables.
const devinfNames = /* @__PURE__ */ fromTable(DEVINF_TAGS, 0);
const ddfNames = /* @__PURE__ */ fromTable(DMDDF_TAGS, PAGE_DMDDF);
const syncmlNames: TagNames = (code) => tagName(code) ?? ddfNames(code);

/** The names of a nested document, from its numeric public id or its literal one. */
export function namesForPublicId(publicId: number, literal: string): TagNames {
  if (publicId === PUBLIC_ID_DEVINF_11 || publicId === PUBLIC_ID_DEVINF_12 || /devinf/i.test(literal)) return devinfNames;
  if (/DM-DDF/i.test(literal)) return ddfNames;
  return syncmlNames;
}
