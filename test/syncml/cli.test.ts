/** `dm-agent syncml`: in-process through run(), and as a process through the dispatcher (stdin, binary stdout). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type SyncmlIo } from '../../cli/commands/syncml.ts';
import { decodeMessage } from '../../agent/syncml/decode.ts';
import { encodeXml } from '../../agent/syncml/encoder.ts';
import { fromBase64 } from '../../agent/util/bytes.ts';
import { CORPUS_PRESENT, libwbxml, tokenizer, WBXML_DIR, XML_DIR } from './support.ts';
import { canonicalTree } from './xml-tree.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const XML_FILE = join(XML_DIR, 'windows-mdm-docs/admx-enable-allowappvclient-unescaped-element-in-data.xml');
const WBXML_FILE = join(WBXML_DIR, 'aosp-dmengine/dm12/input-testreplace.wbxml');
let dir: string;

async function call(args: string[], extra: Partial<SyncmlIo> = {}) {
  let stdout = '';
  let stderr = '';
  const bytes: Uint8Array[] = [];
  const code = await run(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), stdoutBytes: (b) => bytes.push(b), ...extra });
  return { code, stdout, stderr, bytes };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dm-agent-syncml-cli-'));
  writeFileSync(join(dir, 'garbage.xml'), '<SyncML><SyncBody><Add></SyncBody></SyncML>');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!CORPUS_PRESENT)('dm-agent syncml', () => {
  it('decode: XML in, canonical pretty XML out (the model, re-encoded)', async () => {
    const tokenize = await tokenizer('js');
    const { message } = decodeMessage(new Uint8Array(readFileSync(XML_FILE)), { tokenize, mode: 'lenient' });
    const out = await call(['decode', XML_FILE, '--engine', 'js']);
    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(out.stdout).toBe(encodeXml(message, { pretty: true }));
    expect(out.stdout).toContain('<Data><Enabled/></Data>');
  });

  it('decode --json: WBXML in, the model with its encoding and version, bytes as base64', async () => {
    const tokenize = await tokenizer('wasm');
    const bytes = new Uint8Array(readFileSync(WBXML_FILE));
    const { message } = decodeMessage(bytes, { tokenize, mode: 'lenient' });
    const out = await call(['decode', WBXML_FILE, '--json']);
    expect(out.code).toBe(0);
    const json = JSON.parse(out.stdout, (_key, value: unknown) => (value && typeof value === 'object' && 'base64' in value ? fromBase64((value as { base64: string }).base64) : value));
    expect(json).toEqual({ encoding: 'wbxml', version: message.hdr?.verDTD, message });
  });

  it('encode --wbxml writes WBXML that the real wbxml2xml reads back to the same tree; encode --xml turns it back', async () => {
    const wbxmlPath = join(dir, 'out.wbxml');
    expect((await call(['encode', '--wbxml', XML_FILE, '--out', wbxmlPath])).code).toBe(0);
    const wbxml = readFileSync(wbxmlPath);
    expect(wbxml[0]).toBe(0x02);
    const peer = libwbxml('wbxml2xml', wbxml);
    if (!peer.ok) throw new Error(peer.error);
    expect(canonicalTree(peer.output.toString('utf8'))).toBe(canonicalTree(readFileSync(XML_FILE, 'utf8')));
    const back = await call(['encode', '--xml', wbxmlPath]);
    expect(back.code).toBe(0);
    expect(back.stdout).toBe((await call(['decode', XML_FILE])).stdout);
    const toStdout = await call(['encode', '--wbxml', XML_FILE, '--string-table']);
    expect(toStdout.code).toBe(0);
    expect(canonicalTree((libwbxml('wbxml2xml', toStdout.bytes[0] as Uint8Array) as { output: Buffer }).output.toString('utf8'))).toBe(canonicalTree(readFileSync(XML_FILE, 'utf8')));
  });

  it('reads stdin for -', async () => {
    const out = await call(['decode', '-'], { stdin: async () => new Uint8Array(readFileSync(WBXML_FILE)) });
    expect(out.code).toBe(0);
    expect(out.stdout).toBe((await call(['decode', WBXML_FILE])).stdout);
  });

  it('errors name the byte offset; bad usage and unreadable files exit 2', async () => {
    const strict = await call(['decode', XML_FILE, '--strict']);
    expect(strict.code).toBe(2);
    expect(strict.stderr).toContain('<Enabled> is not allowed inside <Data> (at byte 340)');
    const garbage = await call(['decode', join(dir, 'garbage.xml')]);
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toMatch(/garbage\.xml: .*at byte \d+/);
    expect((await call(['encode', '--xml', XML_FILE])).stderr).toMatch(/at byte \d+/);
    expect((await call(['decode', join(dir, 'missing.xml')])).stderr).toContain('no such file');
    for (const args of [[], ['decode'], ['encode', XML_FILE], ['encode', '--xml', 'a', '--wbxml', 'b'], ['decode', XML_FILE, '--engine', 'gpu'], ['frobnicate']]) {
      const out = await call(args);
      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stderr).toContain('usage: dm-agent syncml');
    }
  });

  it('runs as a process through the dispatcher: WBXML on stdin, binary WBXML on stdout', () => {
    const xml = readFileSync(XML_FILE);
    const encoded = spawnSync(process.execPath, ['--import', 'tsx', 'test/syncml/run-cli.ts', 'syncml', 'encode', '--wbxml', '-'], { cwd: ROOT, input: xml });
    expect(encoded.status, encoded.stderr.toString()).toBe(0);
    const decoded = spawnSync(process.execPath, ['--import', 'tsx', 'test/syncml/run-cli.ts', 'syncml', 'decode', '-'], { cwd: ROOT, input: encoded.stdout, encoding: 'utf8' });
    expect(decoded.status, decoded.stderr).toBe(0);
    expect(canonicalTree(decoded.stdout)).toBe(canonicalTree(xml.toString('utf8')));
  });
});
