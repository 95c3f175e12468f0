/**
 * The one curve the keystore uses, as a named import: loaded through `import()` of this module (not
 * of `@noble/curves/ed25519.js` itself, whose namespace would keep every export — FROST's setup
 * runs at module load and needs TextEncoder, which QuickJS lacks), so bundles keep only `ed25519`.
 */
export { ed25519 } from '@noble/curves/ed25519.js';
