/**
 * SyncML decoding (issue 10).
 *
 * syncml-xml: the conformance XML corpus (../shared/conformance/syncml-xml, 62 real and spec
 * messages) repeated to ≥ 16 MiB, each message decoded on its own the way messages arrive, bytes →
 * typed model (agent/syncml decodeMessage, lenient: the corpus has real defects) with the WASM
 * tokenizer. Peers: the same with the JS fallback tokenizer, and the fastest JS XML parsers into
 * their own trees — txml, htmlparser2 (xmlMode, DOM), fast-xml-parser. The peers are handed
 * already-decoded strings (they cannot take bytes), so their UTF-8 decoding is not timed; ours is.
 * syncml-xml-tokenize: the token stream alone (no model), WASM vs JS.
 *
 * syncml-wbxml: one ≥ 400 KiB WBXML message made by the real `xml2wbxml -n -v 1.2` from corpus
 * commands, bytes → typed model with the WASM tokenizer; peers the JS fallback and the real
 * libwbxml decoder `wbxml2xml` as a process over the same file, its start-up (the same process on a
 * minimal WBXML message, measured in the same rounds) subtracted. syncml-wbxml-tokenize: the token
 * stream alone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { parseDocument } from 'htmlparser2';
import { parse as txmlParse } from 'txml';
import { decodeMessage } from '../agent/syncml/decode.ts';
import { CONFORMANCE_DIR, walk } from '../fuzz/targets/syncml-seeds.ts';
import type { Engines } from '../wasm/index.ts';
import { measure, median, type Contender } from './lib.ts';

export interface SyncmlResult {
  name: string;
  value: number;
  peers: Record<string, number>;
}

const XML_TARGET_BYTES = 16 * 1024 * 1024;
const WBXML_MIN_BYTES = 400 * 1024;

function xmlCorpus(): Uint8Array[] {
  const files = walk(join(CONFORMANCE_DIR, 'syncml-xml')).filter((f) => f.endsWith('.xml')).map((f) => new Uint8Array(readFileSync(f)));
  const messages: Uint8Array[] = [];
  for (let total = 0; total < XML_TARGET_BYTES; ) {
    for (const file of files) {
      messages.push(file);
      total += file.length;
    }
  }
  return messages;
}

const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

function benchXml(engines: { wasm: Engines; js: Engines }, rounds: number): SyncmlResult[] {
  const messages = xmlCorpus();
  const total = messages.reduce((n, m) => n + m.length, 0);
  const decoder = new TextDecoder();
  const strings = messages.map((m) => decoder.decode(m));
  const fxp = new XMLParser({ ignoreAttributes: false });
  const model = (e: Engines) => () => {
    let n = 0;
    for (const m of messages) n += decodeMessage(m, { tokenize: e.syncmlTokenize, mode: 'lenient' }).message.body.commands.length;
    return n;
  };
  const tokens = (e: Engines) => () => {
    let n = 0;
    for (const m of messages) n += e.syncmlTokenize(m).count;
    return n;
  };
  const contenders: Contender[] = [
    { name: 'ours', run: model(engines.wasm) },
    { name: 'js fallback', run: model(engines.js) },
    { name: 'txml', run: () => strings.reduce((n, s) => n + txmlParse(s).length, 0) },
    { name: 'htmlparser2', run: () => strings.reduce((n, s) => n + parseDocument(s, { xmlMode: true }).children.length, 0) },
    { name: 'fast-xml-parser', run: () => strings.reduce((n, s) => n + Object.keys(fxp.parse(s) as object).length, 0) },
    { name: 'tokenize wasm', run: tokens(engines.wasm) },
    { name: 'tokenize js', run: tokens(engines.js) },
  ];
  const measured = measure(contenders, { rounds, warmups: 2 });
  const rate = (name: string) => mbps(total, (measured.find((m) => m.name === name) as { median: number }).median);
  return [
    { name: 'syncml-xml', value: rate('ours'), peers: { 'js fallback': rate('js fallback'), txml: rate('txml'), htmlparser2: rate('htmlparser2'), 'fast-xml-parser': rate('fast-xml-parser') } },
    { name: 'syncml-xml-tokenize', value: rate('tokenize wasm'), peers: { 'js fallback': rate('tokenize js'), txml: rate('txml') } },
  ];
}

/** SyncBody commands of DM 1.2 corpus messages, repeated into one message until its `xml2wbxml -n` encoding is ≥ 400 KiB. */
function makeWbxml(dir: string): { big: string; tiny: string; bytes: Uint8Array } {
  const sources = ['oma-dm-1.2.1-spec-examples/02-oneStep-pkg2-server-init.xml', 'windows-mdm-real-session/2-pkg2-server-status-replace-personalization.xml'];
  const texts = sources.map((s) => readFileSync(join(CONFORMANCE_DIR, 'syncml-xml', s), 'utf8'));
  const first = texts[0] as string;
  const head = first.slice(0, first.indexOf('<SyncBody>') + '<SyncBody>'.length);
  const commands = texts.map((t) => t.slice(t.indexOf('<SyncBody>') + '<SyncBody>'.length, t.indexOf('</SyncBody>')).replace(/<Final\s*\/>/g, '')).join('');
  const encode = (repeat: number, name: string) => {
    const xml = join(dir, `${name}.xml`);
    const wbxml = join(dir, `${name}.wbxml`);
    writeFileSync(xml, `${head}${commands.repeat(repeat)}<Final/></SyncBody></SyncML>\n`);
    const r = spawnSync('xml2wbxml', ['-n', '-v', '1.2', '-o', wbxml, xml], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`xml2wbxml failed: ${r.stderr}`);
    return wbxml;
  };
  const one = statSync(encode(1, 'probe')).size;
  const big = encode(Math.ceil(WBXML_MIN_BYTES / one) + 1, 'big');
  return { big, tiny: encode(1, 'tiny'), bytes: new Uint8Array(readFileSync(big)) };
}

function benchWbxml(engines: { wasm: Engines; js: Engines }, rounds: number): SyncmlResult[] {
  if (spawnSync('xml2wbxml', [], { encoding: 'utf8' }).error) {
    console.warn('syncml-wbxml: SKIPPED, libwbxml tools (xml2wbxml, wbxml2xml) not installed (test/setup/system-deps.sh)');
    return [];
  }
  const dir = mkdtempSync(join(tmpdir(), 'dm-bench-wbxml-'));
  try {
    const { big, tiny, bytes } = makeWbxml(dir);
    const out = join(dir, 'out.xml');
    // Our decode is fast enough that one message is too short to time: several per round.
    const repeat = 10;
    const model = (e: Engines) => () => {
      let n = 0;
      for (let k = 0; k < repeat; k++) n += decodeMessage(bytes, { tokenize: e.syncmlTokenize, mode: 'lenient' }).message.body.commands.length;
      return n;
    };
    const run = (file: string) => () => {
      const r = spawnSync('wbxml2xml', ['-o', out, file]);
      if (r.status !== 0) throw new Error(`wbxml2xml failed on ${file}`);
      return r.status;
    };
    const measured = measure(
      [
        { name: 'ours', run: model(engines.wasm) },
        { name: 'js fallback', run: model(engines.js) },
        { name: 'tokenize wasm', run: () => { let n = 0; for (let k = 0; k < repeat; k++) n += engines.wasm.syncmlTokenize(bytes).count; return n; } },
        { name: 'tokenize js', run: () => { let n = 0; for (let k = 0; k < repeat; k++) n += engines.js.syncmlTokenize(bytes).count; return n; } },
        { name: 'wbxml2xml', run: run(big) },
        { name: 'wbxml2xml start', run: run(tiny) },
      ],
      { rounds, warmups: 1 },
    );
    const times = (name: string) => (measured.find((m) => m.name === name) as { times: number[] }).times;
    // Start-up subtracted per round (the two runs of a round see the same machine load).
    const libwbxml = median(times('wbxml2xml').map((t, i) => Math.max(0.01, t - (times('wbxml2xml start')[i] as number))));
    return [{
      name: 'syncml-wbxml',
      value: mbps(bytes.length * repeat, median(times('ours'))),
      peers: { 'js fallback': mbps(bytes.length * repeat, median(times('js fallback'))), wbxml2xml: mbps(bytes.length, libwbxml) },
    }, {
      name: 'syncml-wbxml-tokenize',
      value: mbps(bytes.length * repeat, median(times('tokenize wasm'))),
      peers: { 'js fallback': mbps(bytes.length * repeat, median(times('tokenize js'))), wbxml2xml: mbps(bytes.length, libwbxml) },
    }];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function benchSyncml(engines: { wasm: Engines; js: Engines }, rounds: number, only: ReadonlySet<string>): SyncmlResult[] {
  if (!existsSync(join(CONFORMANCE_DIR, 'syncml-xml'))) {
    console.warn(`syncml benchmarks: SKIPPED, no conformance corpus at ${CONFORMANCE_DIR} (set DM_CONFORMANCE_DIR)`);
    return [];
  }
  return [...(only.has('syncml-xml') ? benchXml(engines, rounds) : []), ...(only.has('syncml-wbxml') ? benchWbxml(engines, rounds) : [])];
}
