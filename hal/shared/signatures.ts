/** The `device.signatures` facet, guarded by the device lifecycle (guardFacet keeps methods only). */
import type { SignatureHost, SignatureScheme } from '../types.ts';
import { guardFacet, type Lifecycle } from './lifecycle.ts';

export function isSignatureHost(value: unknown): value is SignatureHost {
  const v = value as SignatureHost;
  return typeof v === 'object' && v !== null && typeof v.verify === 'function' && typeof v.name === 'string' && Array.isArray(v.schemes);
}

export function guardSignatures(host: SignatureHost, lifecycle: Lifecycle): SignatureHost {
  const { verify } = guardFacet(
    { verify: (scheme: SignatureScheme, key: Uint8Array, message: Uint8Array, signature: Uint8Array) => host.verify(scheme, key, message, signature) },
    lifecycle,
    'signatures',
    ['verify'],
  );
  return { name: host.name, schemes: Object.freeze([...host.schemes]), verify };
}
