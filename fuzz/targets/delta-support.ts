/**
 * Shared by the delta fuzz targets (exports no `target`, so discovery skips it): a fixed source
 * image, seeds made by the real tools from it, and a run that applies each input with both
 * engines and fails (a plain Error, i.e. a finding) when they disagree.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeltaError, loadEngines, type Engines } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';

function image(size: number, seed: number): Uint8Array {
  let s = seed;
  const out = new Uint8Array(size);
  for (let k = 0; k < size; k++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[k] = k % 512 < 256 ? s >>> 24 : 0x41 + (k % 26);
  }
  return out;
}

export const SOURCE = image(4096, 1);

/** Patches from `tools` (argument lists with SRC TGT PATCH placeholders) over a few edited targets. */
export function toolSeeds(tools: string[][]): Uint8Array[] {
  const dir = mkdtempSync(join(tmpdir(), 'dm-delta-fuzz-'));
  try {
    writeFileSync(join(dir, 'src'), SOURCE);
    const seeds: Uint8Array[] = [];
    const targets = [image(4096, 1).map((b, k) => (k % 700 === 0 ? b ^ 0x5a : b)), image(3000, 2), new Uint8Array(0).fill(0), SOURCE.slice(100, 2500)];
    for (const [t, target] of targets.entries()) {
      if (target.length === 0) continue;
      writeFileSync(join(dir, `t${t}`), target);
      for (const [n, tool] of tools.entries()) {
        const args = tool.map((a) => (a === 'SRC' ? join(dir, 'src') : a === 'TGT' ? join(dir, `t${t}`) : a === 'PATCH' ? join(dir, `p${t}-${n}`) : a));
        execFileSync(args[0] as string, args.slice(1));
        seeds.push(new Uint8Array(readFileSync(join(dir, `p${t}-${n}`))));
      }
    }
    return seeds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let both: Promise<[Engines, Engines]> | undefined;

type Outcome = string;

async function outcome(engines: Engines, patch: Uint8Array): Promise<Outcome> {
  let bytes = 0;
  let sum = 0;
  try {
    const r = await engines.applyDelta(
      (offset, length) => SOURCE.subarray(Math.min(offset, SOURCE.length), Math.min(offset + length, SOURCE.length)),
      (offset, length) => patch.subarray(Math.min(offset, patch.length), Math.min(offset + length, patch.length)),
      (chunk) => {
        bytes += chunk.length;
        for (let k = 0; k < chunk.length; k += 97) sum = (sum * 31 + (chunk[k] as number)) >>> 0;
      },
      { windowBudget: 1 << 20 },
    );
    return `ok ${bytes} ${sum} ${Array.from(r.sha256).join(',')}`;
  } catch (error) {
    if (error instanceof DeltaError) return `error ${error.code}`;
    throw error;
  }
}

/** Applies with both engines; a disagreement is a finding. Rejects with the DeltaError otherwise. */
export async function runBoth(patch: Uint8Array): Promise<void> {
  both ??= Promise.all([loadEngines({ wasm: createNodeWasmHost(), engine: 'wasm' }), loadEngines({ engine: 'js' })]);
  const [wasm, js] = await both;
  const a = await outcome(wasm, patch);
  const b = await outcome(js, patch);
  if (a !== b) throw new Error(`engines disagree: wasm ${a.slice(0, 60)} / js ${b.slice(0, 60)}`);
  if (a.startsWith('error ')) throw new DeltaError(a.slice(6) as DeltaError['code'], 'rejected');
}

export const isDeltaError = (error: unknown): boolean => error instanceof DeltaError;
