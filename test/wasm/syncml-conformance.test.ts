/**
 * The SyncML conformance corpus (../shared/conformance, SOURCES.md) through both tokenizer engines:
 * identical output everywhere, lenient accepts every file, strict accepts every file except the
 * known defects and names their offsets, and every WBXML file gives the element tree and text of its
 * libwbxml (or the source project's own) XML decode.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe as suite, expect, it } from 'vitest';
import { SyncmlError, type Engines, type SyncmlTokenizeOptions } from '../../wasm/index.ts';
import { CONFORMANCE_DIR, engines } from './engines.ts';
import { buildTree, type Element } from './syncml-support.ts';
import { walk } from '../../fuzz/targets/syncml-seeds.ts';

const DIRS = ['syncml-xml', 'syncml-wbxml', 'fumo-generic-alert'];
const present = DIRS.every((d) => existsSync(join(CONFORMANCE_DIR, d)));
if (!present) console.warn(`test/wasm/syncml-conformance: SKIPPED, no conformance corpus at ${CONFORMANCE_DIR} (set DM_CONFORMANCE_DIR)`);
const files = present ? DIRS.flatMap((d) => walk(join(CONFORMANCE_DIR, d))).filter((f) => /\.(xml|wbxml)$/.test(f)) : [];
const name = (f: string) => relative(CONFORMANCE_DIR, f);

/** Real-world defects (SOURCES.md "Ill-formed but real"): strict mode must name them here. */
const STRICT_DEFECTS: Record<string, { code: string; offset: number; at: string }> = {
  'syncml-xml/aosp-dmengine/dm11/input-testalertconfirm.xml': { code: 'badReference', offset: 461, at: '&DR=' },
  'syncml-xml/aosp-dmengine/dm12/input-testalertconfirm.xml': { code: 'badReference', offset: 461, at: '&DR=' },
  'syncml-xml/aosp-dmengine/dm12/input-testalertmultiplechoice.xml': { code: 'badReference', offset: 459, at: '&DR=' },
  'syncml-xml/aosp-dmengine/dm12/input-testalertsinglechoice.xml': { code: 'badReference', offset: 459, at: '&DR=' },
  'syncml-xml/aosp-dmengine/dm12/input-testalerttextinput.xml': { code: 'badReference', offset: 459, at: '&DR=' },
  'fumo-generic-alert/oma-dmpro-2.3.7.1-generic-alert-template.NOT-WELLFORMED.xml': { code: 'badComment', offset: 66, at: '--!>' },
};

type Outcome = { ok: true; value: ReturnType<Engines['syncmlTokenize']> } | { ok: false; code: string; offset: number };

function run(e: Engines, bytes: Uint8Array, options: SyncmlTokenizeOptions): Outcome {
  try {
    return { ok: true, value: e.syncmlTokenize(bytes, options) };
  } catch (error) {
    if (!(error instanceof SyncmlError)) throw error;
    return { ok: false, code: error.code, offset: error.offset };
  }
}

suite.skipIf(!present)('syncml conformance corpus', () => {
  it('has the expected material', () => {
    expect(files.filter((f) => f.endsWith('.wbxml')).length).toBe(21);
    expect(files.length).toBeGreaterThanOrEqual(100);
    for (const defect of Object.keys(STRICT_DEFECTS)) expect(files.map(name)).toContain(defect);
  });

  it('every file: both engines identical, lenient accepts, strict accepts all but the known defects', async () => {
    const wasm = await engines('wasm');
    const js = await engines('js');
    const counts = { files: 0, lenient: 0, strict: 0, strictDefects: 0 };
    /** Per source folder (SOURCES.md sections): files, accepted lenient, accepted strict, strict defects found. */
    const bySource: Record<string, [number, number, number, number]> = {};
    for (const file of files) {
      const bytes = readFileSync(file);
      const source = name(file).split('/').slice(0, -1).slice(0, 2).join('/');
      const row = (bySource[source] ??= [0, 0, 0, 0]);
      row[0]++;
      for (const strict of [false, true]) {
        const a = run(wasm, bytes, { strict });
        const b = run(js, bytes, { strict });
        expect(a, `${name(file)} strict=${strict}`).toEqual(b);
        const defect = STRICT_DEFECTS[name(file)];
        if (!strict || !defect) {
          expect(a.ok, `${name(file)} strict=${strict}: ${JSON.stringify(a)}`).toBe(true);
          if (a.ok) expect(a.value.format).toBe(file.endsWith('.wbxml') ? 'wbxml' : 'xml');
          counts[strict ? 'strict' : 'lenient']++;
          row[strict ? 2 : 1]++;
        } else {
          expect(a).toEqual({ ok: false, code: defect.code, offset: defect.offset });
          expect(bytes.subarray(defect.offset, defect.offset + defect.at.length).toString()).toBe(defect.at);
          counts.strictDefects++;
          row[3]++;
        }
      }
      counts.files++;
    }
    console.log(`syncml conformance (identical in the wasm and js engines): ${JSON.stringify(counts)}`);
    for (const [source, [n, lenient, strict, defects]] of Object.entries(bySource)) {
      console.log(`  ${source.padEnd(42)} ${n} files, lenient ${lenient}/${n}, strict ${strict}/${n}${defects ? ` + ${defects} defects at their offsets` : ''}`);
    }
    expect(counts.strictDefects).toBe(Object.keys(STRICT_DEFECTS).length);
  });

  it('every WBXML file gives the tree and text of its XML decode', async () => {
    const js = await engines('js');
    const wasm = await engines('wasm');
    /** A nested WBXML document (e.g. a DM-DDF tree in OPAQUE): its tree, with names from its own code pages. */
    const nestedWith = (e: Engines) => (span: Uint8Array): Element | undefined => {
      if (span.length === 0 || span[0]! > 3) return undefined;
      try {
        const r = e.syncmlTokenize(span, { format: 'wbxml', strict: true });
        return buildTree(span, r, nestedWith(e));
      } catch {
        return undefined;
      }
    };
    let pairs = 0;
    for (const file of files.filter((f) => f.endsWith('.wbxml'))) {
      const decoded = [file.replace(/\.wbxml$/, '.libwbxml-decoded.xml'), file.replace(/\.wbxml$/, '.xml')].find(existsSync);
      expect(decoded, name(file)).toBeDefined();
      const xml = readFileSync(decoded as string);
      const bytes = readFileSync(file);
      const expected = buildTree(xml, js.syncmlTokenize(xml));
      for (const e of [js, wasm]) {
        const tree = buildTree(bytes, e.syncmlTokenize(bytes), nestedWith(e));
        expect(sameTree(tree, expected, new Map()), `${name(file)} (${e.kind})`).toEqual([]);
      }
      pairs++;
    }
    expect(pairs).toBe(21);
  });
});

/**
 * Differences between a WBXML tree and its XML decode. Elements of a nested document carry codes
 * of its own pages (shown `#code`): each such code must stand for one XML name throughout.
 */
function sameTree(a: Element, b: Element, codes: Map<string, string>, path = ''): string[] {
  const here = `${path}/${b.name}`;
  const out: string[] = [];
  if (a.name.startsWith('#')) {
    const known = codes.get(a.name);
    if (known === undefined) codes.set(a.name, b.name);
    else if (known !== b.name) out.push(`${here}: code ${a.name} is both ${known} and ${b.name}`);
  } else if (a.name !== b.name) {
    out.push(`${here}: element ${a.name}`);
  }
  // libwbxml, decoding a nested DM-DDF document, rewrites the Type that announces it from +wbxml to +xml.
  const text = b.name === 'Type' && b.text === 'application/vnd.syncml.dmtnds+xml' ? a.text.replace(/\+wbxml$/, '+xml') : a.text;
  if (text !== b.text) out.push(`${here}: text ${JSON.stringify(a.text)} vs ${JSON.stringify(b.text)}`);
  if (a.children.length !== b.children.length) out.push(`${here}: ${a.children.length} vs ${b.children.length} children`);
  else a.children.forEach((child, i) => out.push(...sameTree(child, b.children[i] as Element, codes, here)));
  return out;
}
