/**
 * Structure-aware random SyncML inputs, XML and WBXML, shared by the fuzz targets
 * (syncml-xml.ts, syncml-wbxml.ts) and the engine-agreement property tests. Mostly near-valid
 * documents (so the deep states of the tokenizers are reached), then often damaged by a few byte
 * mutations. Exports no `target`: fuzz discovery skips it.
 */
import { utf8Encode } from '../../agent/util/bytes.ts';
import { METINF_TAGS, SYNCML_TAGS } from '../../wasm/src/syncml-tokens.ts';

export type Random = () => number;

const below = (random: Random, n: number): number => Math.floor(random() * n);
const pick = <T>(random: Random, items: readonly T[]): T => items[below(random, items.length)] as T;

const NAMES = [...SYNCML_TAGS, ...METINF_TAGS, 'MgmtTree', 'Node', 'x:Data', 'a', 'Vendor-Ext', 'Ωmega'];
const TEXT_PIECES = [
  'abc', ' ', '\n  ', '\t', '\r\n', '&amp;', '&lt;', '&gt;', '&apos;', '&quot;', '&#65;', '&#x1F600;', '&#0;', '&#xD800;', '&', '&bogus;',
  'MAXDT=15&DR=1', ']]>', ']', '>', '"', "'", 'é', '日本', '\u{1f600}', './DevInfo/Mod', '1.2', '200', '{{x}}', '=', '/', '--',
];

function text(random: Random): string {
  let out = '';
  for (let k = below(random, 4); k >= 0; k--) out += pick(random, TEXT_PIECES);
  return out;
}

function attributes(random: Random): string {
  const choices = [' xmlns="SYNCML:SYNCML1.2"', " xmlns='syncml:metinf'", ' a="1>2"', " b = 'x'", ' c', ' d="', '  ', ''];
  let out = '';
  for (let k = below(random, 3); k > 0; k--) out += pick(random, choices);
  return out;
}

function element(random: Random, depth: number): string {
  const name = pick(random, NAMES);
  const roll = random();
  if (roll < 0.15 || depth > 6) return `<${name}${attributes(random)}${pick(random, ['/>', ' />', '/ >'])}`;
  let body = '';
  for (let k = below(random, depth < 3 ? 5 : 3); k > 0; k--) {
    const r = random();
    if (r < 0.45) body += element(random, depth + 1);
    else if (r < 0.75) body += text(random);
    else if (r < 0.85) body += `<![CDATA[${text(random)}${pick(random, ['', ']', ']]'])}]]>`;
    else if (r < 0.93) body += `<!--${text(random)}${pick(random, ['-->', '--!>', '- -->'])}`;
    else body += `<?${pick(random, ['pi', 'xml', 'x-y'])} ${text(random)}?>`;
  }
  const close = random() < 0.95 ? name : pick(random, NAMES);
  return `<${name}${attributes(random)}>${body}</${close}${pick(random, ['>', ' >', '\n>'])}`;
}

export function generateXml(random: Random): Uint8Array {
  const prolog = [
    '', '<?xml version="1.0" encoding="UTF-8"?>\n', '\ufeff', '\t',
    '<!DOCTYPE SyncML PUBLIC "-//SYNCML//DTD SyncML 1.2//EN" "http://www.openmobilealliance.org/tech/DTD/OMA-TS-SyncML_RepPro_DTD-V1_2.dtd">\n',
    '<!-- c -->', '<!DOCTYPE A [ <!ENTITY x "y"> ]>',
  ];
  const doc = `${pick(random, prolog)}${element(random, 0)}${pick(random, ['', '\n', '<!-- end -->', ' x', '<A/>'])}`;
  return mutate(random, utf8Encode(doc));
}

/** mb_u_int32 bytes of v. */
function mb(v: number): number[] {
  const out = [v & 0x7f];
  for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) out.unshift(0x80 | (v & 0x7f));
  return out;
}

function wbxmlBody(random: Random, out: number[], depth: number, tableLength: number): void {
  const token = 5 + below(random, 59);
  const roll = random();
  if (roll < 0.03) out.push(0x00, below(random, 4)); // SWITCH_PAGE before the tag
  if (roll > 0.98) {
    out.push(pick(random, [0x04, 0x44, 0x84, 0xc4]), ...mb(below(random, tableLength + 2)));
  } else if (random() < 0.2 || depth > 6) {
    out.push(token | (random() < 0.02 ? 0x80 : 0));
    return;
  } else {
    out.push(token | 0x40 | (random() < 0.02 ? 0x80 : 0));
  }
  for (let k = below(random, depth < 3 ? 5 : 3); k > 0; k--) {
    const r = random();
    if (r < 0.4) wbxmlBody(random, out, depth + 1, tableLength);
    else if (r < 0.6) out.push(0x03, ...utf8Encode(text(random)), 0x00);
    else if (r < 0.72) out.push(0x83, ...mb(below(random, tableLength + 2)));
    else if (r < 0.82) {
      const data = random() < 0.3 ? [0x02, 0x00, 0x00, 0x6a, 0x00, 0x45, 0x01] : Array.from({ length: below(random, 12) }, () => below(random, 256));
      out.push(0xc3, ...mb(data.length), ...data);
    } else if (r < 0.9) out.push(0x02, ...mb(pick(random, [0x41, 0xe9, 0x263a, 0x1f600, 0xd800, 0x110000])));
    else if (r < 0.95) out.push(0x00, below(random, 3));
    else out.push(pick(random, [0x40, 0x41, 0x42, 0x43, 0x80, 0x81, 0x82, 0xc0, 0xc1, 0xc2]));
  }
  out.push(0x01);
}

export function generateWbxml(random: Random): Uint8Array {
  const strings = Array.from({ length: below(random, 4) }, () => text(random));
  const table = Array.from(utf8Encode(strings.join('\0') + (random() < 0.8 ? '\0' : '')));
  const literal = random() < 0.2;
  const out: number[] = [pick(random, [0x01, 0x02, 0x03, 0x03, 0x02])];
  if (literal) out.push(0x00, ...mb(below(random, table.length + 1)));
  else out.push(...mb(pick(random, [0x0fd3, 0x1201, 0x1201, 1, 0xffffffff])));
  out.push(...mb(pick(random, [106, 106, 106, 3, 0, 1015])), ...mb(table.length), ...table);
  wbxmlBody(random, out, 0, table.length);
  if (random() < 0.05) out.push(below(random, 256));
  return mutate(random, Uint8Array.from(out));
}

/** With probability ~0.4, a few byte-level changes: flips, insertions, deletions, truncation, splices of itself. */
export function mutate(random: Random, input: Uint8Array): Uint8Array {
  if (random() < 0.6 || input.length === 0) return input;
  let bytes = Array.from(input);
  for (let k = 1 + below(random, 3); k > 0; k--) {
    const at = below(random, bytes.length + 1);
    const r = random();
    if (r < 0.3) bytes[Math.min(at, bytes.length - 1)] = below(random, 256);
    else if (r < 0.5) bytes.splice(at, 0, pick(random, [0x3c, 0x3e, 0x26, 0x2f, 0x00, 0x01, 0x03, 0x83, 0xc3, 0x5d, 0x2d, 0x80]));
    else if (r < 0.7) bytes.splice(at, 1 + below(random, 8));
    else if (r < 0.85) bytes = bytes.slice(0, at);
    else {
      const from = below(random, bytes.length);
      bytes.splice(at, 0, ...bytes.slice(from, from + below(random, 32)));
    }
  }
  return Uint8Array.from(bytes);
}
