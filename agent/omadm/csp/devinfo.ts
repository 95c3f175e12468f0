/**
 * DevInfo and DevDetail (DM_StdObj 1.2): read-only device facts, seeded from the device's
 * description. Get is open to every server; nothing may be added, replaced or deleted.
 */
import { type AccessType, describeInterior, type NodeDescription, describeLeaf, ZERO_OR_ONE } from '../ddf.ts';
import { DmStatusError } from '../errors.ts';
import { type Csp, interior, leaf, leaves, type SeedNode, type WriteOp } from './api.ts';

export interface DeviceFacts {
  devId: string;
  man: string;
  mod: string;
  lang?: string;
  /** Firmware, software, hardware versions (DevDetail FwV, SwV, HwV): read live. */
  fwV: () => string;
  swV?: string;
  hwV?: string;
  devTyp?: string;
  oem?: string;
}

const READ_ONLY = 'Get=*';

/**
 * DM_StdObj 1.2 §5.1/§5.2: every node Get-only; `Ext` an optional vendor area. Built per check,
 * not kept (as FUMO's): a kept description tree stayed in the QuickJS heap for the agent's life
 * once a session touched the subtree, through every FUMO download.
 */
const GET: readonly AccessType[] = ['Get'];
const DEV_INFO = (): NodeDescription => {
  const chr = describeLeaf(GET, 'chr');
  return describeInterior(GET, { DevId: chr, Man: chr, Mod: chr, DmV: chr, Lang: chr, Ext: describeInterior(GET, {}, ZERO_OR_ONE, true) });
};
const DEV_DETAIL = (): NodeDescription => {
  const chr = describeLeaf(GET, 'chr');
  const int = describeLeaf(GET, 'int');
  return describeInterior(GET, {
    DevTyp: chr,
    OEM: chr,
    FwV: chr,
    SwV: chr,
    HwV: chr,
    LrgObj: describeLeaf(GET, 'bool'),
    URI: describeInterior(GET, { MaxDepth: int, MaxTotLen: int, MaxSegLen: int }),
    Ext: describeInterior(GET, {}, ZERO_OR_ONE, true),
  });
};

/** Both CSPs' `check` (one function, `this` is the CSP): every write is refused. */
function readOnly(this: Csp, op: WriteOp, path: string): never {
  throw new DmStatusError(405, `${this.root} is read-only (${op} ${path})`);
}

export function devInfoCsp(facts: DeviceFacts): Csp {
  return {
    root: 'DevInfo',
    seed: (): SeedNode[] => [interior('DevInfo', READ_ONLY), ...leaves('DevInfo', { DevId: facts.devId, Man: facts.man, Mod: facts.mod, DmV: '1.2', Lang: facts.lang ?? 'en-US' })],
    describe: DEV_INFO,
    check: readOnly,
  };
}

export function devDetailCsp(facts: DeviceFacts): Csp {
  return {
    root: 'DevDetail',
    seed: (): SeedNode[] => [
      interior('DevDetail', READ_ONLY),
      ...leaves('DevDetail', { DevTyp: facts.devTyp ?? 'device', OEM: facts.oem ?? facts.man, FwV: '', SwV: facts.swV ?? '', HwV: facts.hwV ?? '' }),
      leaf('DevDetail/LrgObj', 'true', 'bool'),
      interior('DevDetail/URI'),
      ...leaves('DevDetail/URI', { MaxDepth: '0', MaxTotLen: '0', MaxSegLen: '255' }, 'int'),
    ],
    read: (path) => (path === 'DevDetail/FwV' ? facts.fwV() : undefined),
    describe: DEV_DETAIL,
    check: readOnly,
  };
}
