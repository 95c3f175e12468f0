/**
 * SyncML encoding (issue 10): the typed model → WBXML and → XML.
 *
 * The message: the commands of every DM/DS corpus message that decodes strictly (no raw elements,
 * which `xml2wbxml -n` cannot write without a string table), repeated into one message until its
 * WBXML is ≥ 400 KiB — the size of a large DM response.
 *
 * syncml-encode: model → WBXML (agent/syncml encodeWbxml, no string table), MB/s of WBXML written.
 * Peer: the real libwbxml encoder `xml2wbxml -n -v 1.2` as a process on the same message as XML,
 * its start-up (the same process on a one-command message, timed in the same rounds) subtracted,
 * MB/s of the WBXML it writes. (libwbxml has no model: its time includes reading the XML.)
 *
 * syncml-encode-xml: model → XML (encodeXml, canonical compact), MB/s of XML written. Peer:
 * fast-xml-parser's XMLBuilder writing the same message from its own object form.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { decodeMessage } from '../agent/syncml/decode.ts';
import { encodeWbxml, encodeXml } from '../agent/syncml/encoder.ts';
import type { Command, SyncMLMessage } from '../agent/syncml/model.ts';
import type { Engines } from '../wasm/index.ts';
import { measure, median } from './lib.ts';
import { CONFORMANCE_DIR, walk } from '../fuzz/targets/syncml-seeds.ts';
import type { SyncmlResult } from './syncml.ts';

const WBXML_MIN_BYTES = 400 * 1024;
const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

/** The benchmark message, and a one-command message for the peer's start-up. */
function buildMessage(engines: Engines): { big: SyncMLMessage; tiny: SyncMLMessage } {
  let hdr: SyncMLMessage['hdr'];
  const commands: Command[] = [];
  for (const file of walk(join(CONFORMANCE_DIR, 'syncml-xml')).filter((f) => f.endsWith('.xml'))) {
    let message: SyncMLMessage;
    try {
      message = decodeMessage(new Uint8Array(readFileSync(file)), { tokenize: engines.syncmlTokenize, mode: 'strict' }).message;
    } catch {
      continue; // a corpus defect or raw elements: not something xml2wbxml -n can take
    }
    if (!hdr && message.hdr?.verDTD === '1.2') hdr = message.hdr;
    commands.push(...message.body.commands);
  }
  const once = encodeWbxml({ ...(hdr ? { hdr } : {}), body: { commands, final: true } }).length;
  const repeat = Math.ceil(WBXML_MIN_BYTES / once) + 1;
  const all: Command[] = [];
  for (let i = 0; i < repeat; i++) all.push(...commands);
  return {
    big: { ...(hdr ? { hdr } : {}), body: { commands: all, final: true } },
    tiny: { ...(hdr ? { hdr } : {}), body: { commands: commands.slice(0, 1), final: true } },
  };
}

export function benchSyncmlEncode(engines: Engines, rounds: number): SyncmlResult[] {
  if (!existsSync(join(CONFORMANCE_DIR, 'syncml-xml'))) {
    console.warn(`syncml-encode: SKIPPED, no conformance corpus at ${CONFORMANCE_DIR} (set DM_CONFORMANCE_DIR)`);
    return [];
  }
  const { big, tiny } = buildMessage(engines);
  const wbxmlBytes = encodeWbxml(big).length;
  const xml = encodeXml(big);
  const xmlBytes = Buffer.byteLength(xml);
  // fast-xml-parser's own object form of the same message, for its builder.
  const parserOptions = { ignoreAttributes: false, preserveOrder: true };
  const fxpObject = new XMLParser(parserOptions).parse(xml) as unknown[];
  const fxpBuilder = new XMLBuilder(parserOptions);

  const haveLibwbxml = !spawnSync('xml2wbxml', [], { encoding: 'utf8' }).error;
  if (!haveLibwbxml) console.warn('syncml-encode: peer xml2wbxml SKIPPED, libwbxml tools not installed (test/setup/system-deps.sh)');
  const dir = mkdtempSync(join(tmpdir(), 'dm-bench-encode-'));
  try {
    const bigXml = join(dir, 'big.xml');
    const tinyXml = join(dir, 'tiny.xml');
    const out = join(dir, 'out.wbxml');
    writeFileSync(bigXml, xml);
    writeFileSync(tinyXml, encodeXml(tiny));
    const libwbxml = (file: string) => () => {
      const r = spawnSync('xml2wbxml', ['-n', '-v', '1.2', '-o', out, file]);
      if (r.status !== 0) throw new Error(`xml2wbxml failed on ${file}: ${r.stderr.toString()}`);
      return r.status;
    };
    let peerBytes = 0;
    if (haveLibwbxml) {
      libwbxml(bigXml)();
      peerBytes = statSync(out).size;
    }
    // One encode of ours is a few ms: several per round, so timer resolution does not matter.
    const repeat = 5;
    const times = (name: string) => (measured.find((m) => m.name === name) as { times: number[] }).times;
    const measured = measure(
      [
        { name: 'wbxml', run: () => { let n = 0; for (let k = 0; k < repeat; k++) n += encodeWbxml(big).length; return n; } },
        { name: 'xml', run: () => { let n = 0; for (let k = 0; k < repeat; k++) n += encodeXml(big).length; return n; } },
        { name: 'fxp', run: () => { let n = 0; for (let k = 0; k < repeat; k++) n += (fxpBuilder.build(fxpObject) as string).length; return n; } },
        ...(haveLibwbxml ? [{ name: 'xml2wbxml', run: libwbxml(bigXml) }, { name: 'xml2wbxml start', run: libwbxml(tinyXml) }] : []),
      ],
      { rounds, warmups: 1 },
    );
    const wbxmlPeers: Record<string, number> = {};
    if (haveLibwbxml) {
      // Start-up subtracted per round (both runs of a round see the same machine load).
      const peerMs = median(times('xml2wbxml').map((t, i) => Math.max(0.01, t - (times('xml2wbxml start')[i] as number))));
      wbxmlPeers['xml2wbxml -n'] = mbps(peerBytes, peerMs);
    }
    return [
      { name: 'syncml-encode', value: mbps(wbxmlBytes * repeat, median(times('wbxml'))), peers: wbxmlPeers },
      { name: 'syncml-encode-xml', value: mbps(xmlBytes * repeat, median(times('xml'))), peers: { 'fast-xml-parser builder': mbps(xmlBytes * repeat, median(times('fxp'))) } },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
