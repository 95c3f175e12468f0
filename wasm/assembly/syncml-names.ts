/**
 * Local name (UTF-8 bytes in memory) → element code: the same 256-bucket hash as
 * wasm/src/syncml-names.ts over the same tables (kept in that order: SyncML page 0, MetInf page 1,
 * tokens from 0x05), then a byte compare. The table is built once at instantiation into static data.
 */
const SYNCML: string = 'Add Alert Archive Atomic Chal Cmd CmdID CmdRef Copy Cred Data Delete Exec Final Get Item Lang LocName LocURI Map MapItem Meta MsgID MsgRef NoResp NoResults Put Replace RespURI Results Search Sequence SessionID SftDel Source SourceRef Status Sync SyncBody SyncHdr SyncML Target TargetRef Reserved VerDTD VerProto NumberOfChanges MoreData Field Filter Record FilterType SourceParent TargetParent Move Correlator';
const METINF: string = 'Anchor EMI Format FreeID FreeMem Last Mark MaxMsgSize Mem MetInf Next NextNonce SharedMem Size Type Version MaxObjSize FieldLevel';

export const TAG_UNKNOWN: i32 = 0x10000;
const MAX_NAMES: i32 = 96;

// Entry e: [name start (char index in its string), length, code, next entry + 1, string (0 SyncML, 1 MetInf)].
const heads = memory.data(256 * 4, 16);
const entries = memory.data(MAX_NAMES * 20, 16);
let entryCount: i32 = 0;

// @ts-ignore: decorator
@inline function hash(len: i32, first: u32, middle: u32, last: u32): i32 {
  return <i32>((<u32>len * 7 + first * 3 + middle * 5 + last) & 255);
}

// @ts-ignore: decorator
@inline function charAt(s: string, k: i32): u32 {
  return <u32>load<u16>(changetype<usize>(s) + (<usize>k << 1));
}

function addPage(names: string, which: i32, page: i32): void {
  const n = names.length;
  let start = 0;
  let token = 5;
  for (let k = 0; k <= n; k++) {
    if (k < n && charAt(names, k) != 0x20) continue;
    const len = k - start;
    const h = hash(len, charAt(names, start), charAt(names, start + (len >> 1)), charAt(names, k - 1));
    const e = entries + <usize>entryCount * 20;
    store<i32>(e, start);
    store<i32>(e, len, 4);
    store<i32>(e, (page << 8) | token, 8);
    store<i32>(e, load<i32>(heads + (<usize>h << 2)), 12);
    store<i32>(e, which, 16);
    store<i32>(heads + (<usize>h << 2), entryCount + 1);
    entryCount++;
    token++;
    start = k + 1;
  }
}

addPage(SYNCML, 0, 0);
addPage(METINF, 1, 1);

/** Code of the name at [p, p + len) (len > 0), or TAG_UNKNOWN. */
export function lookupName(p: usize, len: i32): i32 {
  let e = load<i32>(heads + (<usize>hash(len, load<u8>(p), load<u8>(p + (<usize>(len >> 1))), load<u8>(p + <usize>len - 1)) << 2));
  while (e != 0) {
    const entry = entries + <usize>(e - 1) * 20;
    if (load<i32>(entry, 4) == len) {
      const s = load<i32>(entry, 16) == 0 ? SYNCML : METINF;
      const start = load<i32>(entry);
      let k = 0;
      while (k < len && <u32>load<u8>(p + <usize>k) == charAt(s, start + k)) k++;
      if (k == len) return load<i32>(entry, 8);
    }
    e = load<i32>(entry, 12);
  }
  return TAG_UNKNOWN;
}
