/**
 * The one place that lists the protocol families the agent knows. A new family (OMA DM, hawkBit
 * DDI, …) adds its definition here and a config section of the same name; nothing else in the
 * agent changes.
 */
import { deliveryFamily } from '../delivery/family.ts';
import { firmwareFamily } from '../firmware/family.ts';
import type { FamilyDefinition, FamilyInstance } from './family.ts';

export const FAMILIES: readonly FamilyDefinition<never>[] = [deliveryFamily as FamilyDefinition<never>, firmwareFamily as FamilyDefinition<never>];

export function familyDefinition(name: string): FamilyDefinition<never> | undefined {
  return FAMILIES.find((family) => family.name === name);
}

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
