/**
 * The one place that lists the protocol families the agent knows. A new family (OMA DM, hawkBit
 * DDI, …) adds its entry here and a config section of the same name; nothing else in the agent
 * changes.
 *
 * A family's code is loaded only when the config names it (`load`, a dynamic import): the build
 * makes each family a chunk of its own next to dist/agent.js, so a board stores and a QuickJS
 * heap holds only the families it runs. A family's config section is checked by its config module
 * (`config`, also a dynamic import: a small chunk the family's chunk shares), imported only when
 * the config has that section (agent/config-base.ts `loadConfig`).
 */
import { loadOnce } from '../util/load-once.ts';
import type { FamilyDefinition, FamilyInstance } from './family.ts';

export type FamilyName = 'delivery' | 'firmware' | 'omadm';

export interface FamilyEntry {
  /** Also the name of the family's config section. */
  readonly name: FamilyName;
  /** Imports the parser that validates and completes the config section (it throws a message naming the bad field). */
  config(): Promise<(input: unknown) => unknown>;
  load(): Promise<FamilyDefinition<never>>;
}

export const FAMILIES: readonly FamilyEntry[] = [
  { name: 'delivery', config: loadOnce(async () => (await import('../delivery/config.ts')).parseDeliveryConfig), load: loadOnce(async () => (await import('../delivery/family.ts')).deliveryFamily as FamilyDefinition<never>) },
  { name: 'firmware', config: loadOnce(async () => (await import('../firmware/config.ts')).parseFirmwareConfig), load: loadOnce(async () => (await import('../firmware/family.ts')).firmwareFamily as FamilyDefinition<never>) },
  { name: 'omadm', config: loadOnce(async () => (await import('../omadm/config.ts')).parseOmaDmConfig), load: loadOnce(async () => (await import('../omadm/family.ts')).omadmFamily as FamilyDefinition<never>) },
];

/** Two families may not own overlapping store prefixes (one would read the other's records). */
export function checkPrefixes(families: readonly FamilyInstance[]): void {
  const owned: { family: string; prefix: string }[] = [];
  for (const family of families)
    for (const prefix of family.prefixes) {
      const clash = owned.find((o) => o.prefix.startsWith(prefix) || prefix.startsWith(o.prefix));
      if (clash && clash.family !== family.name) throw new Error(`families ${clash.family} and ${family.name} both claim store keys under ${clash.prefix} / ${prefix}`);
      owned.push({ family: family.name, prefix });
    }
}
