/**
 * `dm-agent syncml`: the SyncML codec from the command line.
 *   decode <file|->            XML or WBXML in (detected), canonical pretty XML out; --json: the model
 *   encode --wbxml <xml|->     XML → WBXML (--string-table: libwbxml-style string table)
 *   encode --xml <wbxml|->     WBXML → canonical pretty XML
 * Common: --out <file> (default stdout), --strict (defects are errors; default lenient, as real
 * messages have them), --engine wasm|js. Errors name the byte offset of the problem.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { decodeMessage, type Decoded } from '../../agent/syncml/decode.ts';
import { encodeWbxml, encodeXml } from '../../agent/syncml/encoder.ts';
import { SyncmlModelError } from '../../agent/syncml/errors.ts';
import { messageVersion } from '../../agent/syncml/model.ts';
import { toBase64 } from '../../agent/util/bytes.ts';
import { type EngineKind, loadEngines, SyncmlError } from '../../wasm/index.ts';
import { createNodeWasmHost } from '../../wasm/node-host.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, fileProblem, parseOptions } from '../io.ts';
import type { CommandSpec } from '../spec.ts';

const USAGE = `usage: dm-agent syncml decode <file|-> [--json] [--strict] [--engine wasm|js] [--out <file>]
       dm-agent syncml encode --wbxml <xml-file|-> [--string-table] [--strict] [--out <file>]
       dm-agent syncml encode --xml <wbxml-file|-> [--strict] [--out <file>]`;

/** Declared for the dispatcher's help (cli/spec.ts); the parser below reads the same names. */
export const spec: CommandSpec = {
  name: 'syncml',
  summary: 'SyncML codec: dm-agent syncml decode <file|-> [--json] | encode --wbxml <xml> | encode --xml <wbxml>',
  args: 'decode <file|-> | encode --wbxml <xml-file|-> | encode --xml <wbxml-file|->',
  options: [
    { name: 'json', help: 'decode: print the model as JSON' },
    { name: 'strict', help: 'refuse anything outside the SyncML DTD' },
    { name: 'string-table', help: 'encode --wbxml: use a string table' },
    { name: 'engine', value: 'wasm|js', help: 'codec engine' },
    { name: 'out', value: 'FILE', help: 'write the output here instead of stdout' },
    { name: 'wbxml', value: 'FILE', help: 'encode this XML file (or -) to WBXML' },
    { name: 'xml', value: 'FILE', help: 'encode this WBXML file (or -) to XML' },
  ],
};

/** The CommandIo of this command, plus binary output and stdin (process streams when absent). */
export interface SyncmlIo extends CommandIo {
  stdoutBytes?: (bytes: Uint8Array) => void;
  stdin?: () => Promise<Uint8Array>;
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

/** The model as JSON: bytes as `{ "base64": … }` so binary Data survives. */
export function modelJson(decoded: Decoded): string {
  const body = { encoding: decoded.encoding, version: messageVersion(decoded.message) ?? null, message: decoded.message };
  return `${JSON.stringify(body, (_key, value: unknown) => (value instanceof Uint8Array ? { base64: toBase64(value) } : value), 2)}\n`;
}

function problemText(error: unknown): string | undefined {
  if (error instanceof SyncmlError || error instanceof SyncmlModelError) return error.message;
  return undefined;
}

export async function run(args: string[], io: SyncmlIo): Promise<number> {
  const [sub, ...rest] = args;
  const { positional, options, unknown } = parseOptions(rest, ['json', 'strict', 'string-table'], ['engine', 'out', 'wbxml', 'xml']);
  const problems = [...unknown];
  let input: string | undefined;
  let output: 'pretty' | 'json' | 'wbxml' = 'pretty';
  if (sub === 'decode') {
    if (positional.length !== 1) problems.push(positional.length === 0 ? 'missing <file|->' : 'expected exactly one <file|->');
    input = positional[0];
    if (options['json']) output = 'json';
    if (options['wbxml'] !== undefined || options['xml'] !== undefined || options['string-table']) problems.push('--wbxml, --xml and --string-table belong to encode');
  } else if (sub === 'encode') {
    const toWbxml = options['wbxml'];
    const toXml = options['xml'];
    if ((toWbxml === undefined) === (toXml === undefined)) problems.push('encode needs exactly one of --wbxml <xml-file> or --xml <wbxml-file>');
    if (positional.length > 0) problems.push(`unexpected ${positional.join(' ')}`);
    if (options['json']) problems.push('--json belongs to decode');
    input = (toWbxml ?? toXml) as string | undefined;
    output = toWbxml !== undefined ? 'wbxml' : 'pretty';
  } else {
    problems.push(sub === undefined ? 'missing decode or encode' : `unknown subcommand ${JSON.stringify(sub)}`);
  }
  const engine = options['engine'];
  if (engine !== undefined && engine !== 'wasm' && engine !== 'js') problems.push(`--engine must be wasm or js, got ${String(engine)}`);
  if (problems.length > 0 || input === undefined) {
    io.stderr(`dm-agent syncml: ${problems.join('; ')}\n${USAGE}\n`);
    return EXIT_USAGE;
  }

  let bytes: Uint8Array;
  try {
    bytes = input === '-' ? await (io.stdin ?? readStdin)() : new Uint8Array(await readFile(input));
  } catch (error) {
    const problem = fileProblem(input, error);
    io.stderr(`dm-agent syncml: ${problem.message}\n`);
    return problem.code;
  }
  let engines;
  try {
    engines = await loadEngines({ wasm: createNodeWasmHost(), engine: (engine as EngineKind | undefined) ?? 'auto' });
  } catch (error) {
    io.stderr(`dm-agent syncml: ${(error as Error).message}\n`);
    return EXIT_FAILED;
  }

  const name = input === '-' ? 'stdin' : input;
  let result: string | Uint8Array;
  try {
    const expected = sub === 'encode' ? (output === 'wbxml' ? 'xml' : 'wbxml') : undefined;
    const decoded = decodeMessage(bytes, { tokenize: engines.syncmlTokenize, mode: options['strict'] ? 'strict' : 'lenient', ...(expected ? { format: expected } : {}) });
    result = output === 'json' ? modelJson(decoded) : output === 'wbxml' ? encodeWbxml(decoded.message, { stringTable: options['string-table'] === true }) : encodeXml(decoded.message, { pretty: true });
  } catch (error) {
    const text = problemText(error);
    if (text === undefined) throw error;
    io.stderr(`dm-agent syncml: ${name}: ${text}\n`);
    return EXIT_USAGE;
  }

  const out = options['out'];
  if (typeof out === 'string') {
    try {
      await writeFile(out, result);
    } catch (error) {
      io.stderr(`dm-agent syncml: ${out}: cannot write: ${(error as Error).message}\n`);
      return EXIT_FAILED;
    }
  } else if (typeof result === 'string') io.stdout(result);
  else if (io.stdoutBytes) io.stdoutBytes(result);
  else process.stdout.write(result);
  return EXIT_OK;
}
