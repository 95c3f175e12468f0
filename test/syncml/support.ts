/**
 * Shared pieces of the SyncML model suites: the tokenizer of each engine as the model's `Tokenize`,
 * the conformance corpus (read in place), and the real libwbxml tools as processes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Tokenize } from '../../agent/syncml/decode.ts';
import { walk } from '../../fuzz/targets/syncml-seeds.ts';
import { CONFORMANCE_DIR, engines } from '../wasm/engines.ts';

export { CONFORMANCE_DIR };
export const MODEL_ENGINES = ['wasm', 'js'] as const;
export type ModelEngine = (typeof MODEL_ENGINES)[number];

export async function tokenizer(engine: ModelEngine): Promise<Tokenize> {
  const loaded = await engines(engine);
  return (bytes, options) => loaded.syncmlTokenize(bytes, options);
}

export const XML_DIR = join(CONFORMANCE_DIR, 'syncml-xml');
export const WBXML_DIR = join(CONFORMANCE_DIR, 'syncml-wbxml');
export const CORPUS_PRESENT = existsSync(XML_DIR) && existsSync(WBXML_DIR);
if (!CORPUS_PRESENT) console.warn(`test/syncml: conformance corpus not found at ${CONFORMANCE_DIR} (set DM_CONFORMANCE_DIR); corpus suites are skipped`);

export interface CorpusFile {
  /** Path relative to the corpus root, for test names. */
  name: string;
  path: string;
  bytes: Uint8Array;
}

export function corpusFiles(dir: string, suffix: string): CorpusFile[] {
  if (!CORPUS_PRESENT) return [];
  return walk(dir).filter((path) => path.endsWith(suffix)).map((path) => ({ name: relative(CONFORMANCE_DIR, path), path, bytes: new Uint8Array(readFileSync(path)) }));
}

/** The XML messages (not the libwbxml decodes stored next to the WBXML files). */
export function xmlCorpus(): CorpusFile[] {
  return corpusFiles(XML_DIR, '.xml');
}

/** WBXML files with the XML that libwbxml (or, for buteo, the source project) decoded them to. */
export function wbxmlPairs(): Array<CorpusFile & { xml: string }> {
  return corpusFiles(WBXML_DIR, '.wbxml').flatMap((file) => {
    const stem = file.path.slice(0, -'.wbxml'.length);
    const pair = [`${stem}.libwbxml-decoded.xml`, `${stem}.xml`].find((candidate) => existsSync(candidate));
    return pair ? [{ ...file, xml: readFileSync(pair, 'utf8') }] : [];
  });
}

/** Runs a libwbxml tool on `input`; returns the output file's bytes, or the tool's complaint. */
export function libwbxml(tool: 'xml2wbxml' | 'wbxml2xml', input: Uint8Array, args: string[] = []): { ok: true; output: Buffer } | { ok: false; error: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dm-agent-syncml-'));
  try {
    const inPath = join(dir, 'in');
    const outPath = join(dir, 'out');
    writeFileSync(inPath, input);
    try {
      execFileSync(tool, [...args, '-o', outPath, inPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? '');
      return { ok: false, error: stderr.trim() || (error as Error).message };
    }
    return { ok: true, output: readFileSync(outPath) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
