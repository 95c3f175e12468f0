/**
 * The one place that lists the protocol families the agent knows. A new family (OMA DM, hawkBit
 * DDI, …) adds its entry here and a config section of the same name; nothing else in the agent
 * changes.
 *
 * A family's code is loaded only when the config names it (`load`, a dynamic import): the build
 * makes each family a chunk of its own next to dist/agent.js, so a board stores and a QuickJS
 * heap holds only the families it runs. A family's config section is checked by the family's own
 * parser (`config`), which comes with that chunk: its schemas are loaded only when the config has
 * that section (agent/config-base.ts `loadConfig`), and the chunk is needed right after anyway.
 * (A config chunk of its own per family would be smaller, but each extra dynamic entry splits the
 * modules shared with the core into more chunks, and every chunk costs the guest heap ~0.6 KB plus
 * ~55 B per binding it imports.)
 */
import { loadOnce } from '../util/load-once.ts';
import type { FamilyDefinition, FamilyInstance } from './family.ts';

export type FamilyName = 'delivery' | 'firmware' | 'omadm';

export interface FamilyEntry {
  /** Also the name of the family's config section. */
  readonly name: FamilyName;
  /** The family follows manager moves (seed 004): the agent loads the roaming tracker for it. */
  readonly roams: boolean;
  /**
   * The family keeps installed packages in the board's `pkgdb` store (`packageStore`): the agent
   * opens that store only for such a family (a QuickJS heap holds no unused store, its partition's
   * bridge and its scan; a boot reads no unused partition).
   */
  readonly packages: boolean;
  /** Imports the family's chunk and returns its parser, which validates and completes the config section (it throws a message naming the bad field). */
  config(): Promise<(input: unknown) => unknown>;
  load(): Promise<FamilyDefinition<never>>;
}

/** A registry entry: the family's chunk is imported once, on the first ask for its config parser or its definition. */
function entry(name: FamilyName, load: () => Promise<FamilyDefinition<never>>, roams = false, packages = false): FamilyEntry {
  const once = loadOnce(load);
  return { name, roams, packages, config: async () => (await once()).parseConfig, load: once };
}

export const FAMILIES: readonly FamilyEntry[] = [
  entry('delivery', async () => (await import('../delivery/family.ts')).deliveryFamily as FamilyDefinition<never>, true, true),
  entry('firmware', async () => (await import('../firmware/family.ts')).firmwareFamily as FamilyDefinition<never>),
  entry('omadm', async () => (await import('../omadm/family.ts')).omadmFamily as FamilyDefinition<never>),
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
