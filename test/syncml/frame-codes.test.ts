/**
 * The token constants the encoder and builder use as numbers (wasm/src/syncml-tokens.ts
 * `FrameCode`, a const enum inlined where used) are the codes the tag tables give those names.
 */
import { describe, expect, it } from 'vitest';
import { codeForName, FrameCode, tagName } from '../../wasm/src/syncml-tokens.ts';

describe('SyncML frame codes', () => {
  it('are the tag tables\' codes of Final, SyncBody, SyncHdr and SyncML', () => {
    const codes: Record<string, number> = { Final: FrameCode.Final, SyncBody: FrameCode.SyncBody, SyncHdr: FrameCode.SyncHdr, SyncML: FrameCode.SyncML };
    for (const [name, code] of Object.entries(codes)) {
      expect(code).toBe(codeForName(name));
      expect(tagName(code)).toBe(name);
    }
  });
});
