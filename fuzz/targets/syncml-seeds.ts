/**
 * Seeds of the SyncML fuzz targets: the conformance corpus files (read in place, never copied),
 * plus one generated document per format so a checkout without the corpus still has seeds.
 * Exports no `target`: fuzz discovery skips it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { utf8Encode } from '../../agent/util/bytes.ts';

export const CONFORMANCE_DIR = process.env['DM_CONFORMANCE_DIR'] ?? fileURLToPath(new URL('../../../shared/conformance/', import.meta.url));

/** Every file below dir, sorted (test/wasm/syncml-conformance and bench/syncml read the corpus with it too). */
export function walk(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const FALLBACK = {
  xml: utf8Encode('<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD></SyncHdr><SyncBody><Alert><CmdID>1</CmdID><Data>MAXDT=15&amp;DR=1</Data></Alert><Final/></SyncBody></SyncML>'),
  wbxml: Uint8Array.from([0x02, 0xa4, 0x01, 0x6a, 0x04, 0x31, 0x2e, 0x32, 0x00, 0x6d, 0x6c, 0x71, 0x83, 0x00, 0x01, 0x01, 0x6b, 0x12, 0x01, 0x01]),
};

export function corpusSeeds(pattern: RegExp): Uint8Array[] {
  const dirs = ['syncml-xml', 'syncml-wbxml'].map((d) => join(CONFORMANCE_DIR, d)).filter(existsSync);
  const files = dirs.flatMap(walk).filter((f) => pattern.test(f));
  return [...files.map((f) => new Uint8Array(readFileSync(f))), pattern.test('x.xml') ? FALLBACK.xml : FALLBACK.wbxml];
}
