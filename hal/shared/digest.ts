/** The `device.digest` facet, guarded by the device lifecycle (guardFacet keeps methods only). */
import type { DigestHost } from '../types.ts';
import { guardFacet, type Lifecycle } from './lifecycle.ts';

export function isDigestHost(value: unknown): value is DigestHost {
  const v = value as DigestHost;
  return typeof v === 'object' && v !== null && typeof v.createHash === 'function' && typeof v.name === 'string' && Array.isArray(v.algorithms);
}

export function guardDigest(host: DigestHost, lifecycle: Lifecycle): DigestHost {
  const { createHash } = guardFacet({ createHash: (algorithm: string) => host.createHash(algorithm) }, lifecycle, 'digest', ['createHash']);
  return { name: host.name, algorithms: Object.freeze([...host.algorithms]), createHash };
}
