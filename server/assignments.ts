/**
 * What a device should have: its groups' packages, then its own entries on top. Rules, in order:
 *   1. groups in the order the device lists them; a later group's entry for a name replaces an
 *      earlier one (a device in `base` and `beta` gets beta's version);
 *   2. the device's own `{name, version}` replaces any group entry for that name;
 *   3. the device's own `{name, remove: true}` takes that name away from this device only.
 * Reports: every group's requests, then the device's, duplicates dropped.
 */
import type { PackageSpec, ReportRequest } from '../agent/delivery/messages.ts';
import { LIMITS } from '../agent/delivery/messages.ts';
import { type CatalogueEntry, type DeviceAssignment, type Fleet, findPackage } from './fleet.ts';

/** A device's assignment inputs: from the fleet file, from auto-enrolment, or replaced by the admin API. */
export interface DeviceAssignments {
  groups: string[];
  packages: DeviceAssignment[];
  reports: ReportRequest[];
  nextPollMs?: number;
}

export interface ResolvedPackage {
  entry: CatalogueEntry;
  optional: boolean;
}

export function resolvePackages(fleet: Fleet, device: DeviceAssignments): ResolvedPackage[] {
  const chosen = new Map<string, { version: string; optional: boolean }>();
  for (const group of device.groups)
    for (const assignment of fleet.groups.get(group)?.packages ?? []) chosen.set(assignment.name, { version: assignment.version, optional: assignment.optional });
  for (const assignment of device.packages) {
    if ('remove' in assignment) chosen.delete(assignment.name);
    else chosen.set(assignment.name, { version: assignment.version, optional: assignment.optional });
  }
  const out: ResolvedPackage[] = [];
  for (const [name, { version, optional }] of chosen) {
    // The fleet and the admin API both check references, so a miss here is a bug, not input.
    const entry = findPackage(fleet, name, version);
    if (!entry) throw new Error(`assignment ${name}@${version} is not in the catalogue`);
    out.push({ entry, optional });
  }
  return out;
}

export function resolveReports(fleet: Fleet, device: DeviceAssignments): ReportRequest[] {
  const all = [...device.groups.flatMap((group) => fleet.groups.get(group)?.reports ?? []), ...device.reports];
  const seen = new Set<string>();
  const out: ReportRequest[] = [];
  for (const request of all) {
    const key = JSON.stringify(request);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(request);
  }
  return out.slice(0, LIMITS.reports);
}

export function packageSpec({ entry, optional }: ResolvedPackage): PackageSpec {
  return { name: entry.name, version: entry.version, digest: entry.digest, optional, size: entry.size };
}

/** The assigned package of that name and version, if the device should have exactly that. */
export function assignedPackage(fleet: Fleet, device: DeviceAssignments, name: string, version: string): ResolvedPackage | undefined {
  // resolvePackages' rules for one name, without resolving the whole list: every instruction and
  // location request asks, so that made a long package list quadratic (10 000 packages: 2 × 10^8
  // catalogue look-ups per convergence). The last word on the name wins: the device's own entries
  // (set or remove), else the last group in the device's order that names it.
  const last = <T extends { name: string }>(list: readonly T[]) => {
    for (let i = list.length - 1; i >= 0; i--) if (list[i]!.name === name) return list[i];
    return undefined;
  };
  let chosen: { version: string; optional: boolean } | undefined;
  const own = last(device.packages);
  if (own) chosen = 'remove' in own ? undefined : own;
  else for (let g = device.groups.length - 1; g >= 0 && !chosen; g--) chosen = last(fleet.groups.get(device.groups[g]!)?.packages ?? []);
  if (!chosen || chosen.version !== version) return undefined;
  const entry = findPackage(fleet, name, version);
  if (!entry) throw new Error(`assignment ${name}@${version} is not in the catalogue`);
  return { entry, optional: chosen.optional };
}
