/**
 * The short smoke of every fuzz target inside `npm test` (the ≥ 1 M-input campaign is
 * `npm run fuzz`). Fixed seed, so a failure here reproduces with
 * `npm run fuzz -- --only <name> --seed 9 --inputs <n>`.
 */
import { describe, expect, it } from 'vitest';
import { discoverTargets } from '../../fuzz/discover.ts';
import { type Finding, fuzzLoop, inputSource } from '../../fuzz/engine.ts';

const SEED = 9;
const INPUTS = Number(process.env['FUZZ_SMOKE_INPUTS'] ?? 300);
const targets = await discoverTargets();

describe('fuzz smoke', () => {
  it('finds the targets', () => {
    expect(targets.map((t) => t.name)).toContain('cbor-messages');
  });

  it.each(targets.map((t) => [t.name, t] as const))('%s: seeds and mutants raise only typed errors', async (_name, found) => {
    const findings: Finding[] = [];
    const counts = await fuzzLoop(found.target, { count: INPUTS, input: inputSource(found.target, SEED), onFinding: (f) => findings.push(f) });
    expect(findings.map((f) => `${f.kind} at input #${f.index}: ${f.message}`)).toEqual([]);
    expect(counts.inputs).toBe(INPUTS);
  });
});
