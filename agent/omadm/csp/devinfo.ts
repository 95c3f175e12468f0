/**
 * DevInfo and DevDetail (DM_StdObj 1.2): read-only device facts, seeded from the device's
 * description. Get is open to every server; nothing may be added, replaced or deleted.
 */
import { DmStatusError } from '../errors.ts';
import { type Csp, interior, leaf, type SeedNode } from './api.ts';

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

function readOnly(root: string): Pick<Csp, 'check'> {
  return {
    check(op, path) {
      throw new DmStatusError(405, `${root} is read-only (${op} ${path})`);
    },
  };
}

export function devInfoCsp(facts: DeviceFacts): Csp {
  return {
    root: 'DevInfo',
    seed: (): SeedNode[] => [
      interior('DevInfo', READ_ONLY),
      leaf('DevInfo/DevId', facts.devId),
      leaf('DevInfo/Man', facts.man),
      leaf('DevInfo/Mod', facts.mod),
      leaf('DevInfo/DmV', '1.2'),
      leaf('DevInfo/Lang', facts.lang ?? 'en-US'),
    ],
    ...readOnly('DevInfo'),
  };
}

export function devDetailCsp(facts: DeviceFacts): Csp {
  return {
    root: 'DevDetail',
    seed: (): SeedNode[] => [
      interior('DevDetail', READ_ONLY),
      leaf('DevDetail/DevTyp', facts.devTyp ?? 'device'),
      leaf('DevDetail/OEM', facts.oem ?? facts.man),
      leaf('DevDetail/FwV', ''),
      leaf('DevDetail/SwV', facts.swV ?? ''),
      leaf('DevDetail/HwV', facts.hwV ?? ''),
      leaf('DevDetail/LrgObj', 'true', 'bool'),
      interior('DevDetail/URI'),
      leaf('DevDetail/URI/MaxDepth', '0', 'int'),
      leaf('DevDetail/URI/MaxTotLen', '0', 'int'),
      leaf('DevDetail/URI/MaxSegLen', '255', 'int'),
    ],
    read: (path) => (path === 'DevDetail/FwV' ? facts.fwV() : undefined),
    ...readOnly('DevDetail'),
  };
}
