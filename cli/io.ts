/**
 * What every CLI command shares: output sinks (so commands are testable without spawning
 * processes), the exit codes, and the one way each kind of input problem is worded.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
// spec.ts imports the exit codes from here; the cycle is safe (only functions cross it, used at run time).
import { parseArgs as parseArgsOf } from './spec.ts';

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export type Command = (args: string[], io: CommandIo) => Promise<number>;

/**
 * Exit codes, the same for the same failure in every command (README "Exit codes"):
 * 0 ok; 1 the operation ran and failed (network, I/O, a check that found problems); 2 bad usage
 * or unusable input (unknown option, missing/unreadable file, malformed JSON, invalid board or
 * config). `dm-agent run` also exits 75 when the agent asked for a reboot.
 */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Input the command cannot use: printed as `dm-agent <cmd>: <message>`, exit code `exitCode`. */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT_USAGE) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Why a file could not be read, in words (not-found, directory and permission problems named). */
export function fileErrorReason(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTREG') return 'not a regular file (a FIFO, device or socket); give a file';
  return error instanceof Error ? error.message : String(error);
}

/** Not-found, directory, permission and not-a-file problems are bad input (exit 2); other I/O errors fail (1). */
export function fileProblem(file: string, error: unknown): { message: string; code: number } {
  const code = (error as { code?: string }).code;
  const badPath = code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES' || code === 'EPERM' || code === 'ENOTREG';
  return { message: `${file}: cannot read: ${fileErrorReason(error)}`, code: badPath ? EXIT_USAGE : EXIT_FAILED };
}

/**
 * Opens a regular file for reading. A FIFO would block the open until a writer comes, and a
 * device (/dev/zero) never ends: both are refused (code ENOTREG) instead of hanging. The open is
 * non-blocking and the check is on the opened handle, so nothing can be swapped in between.
 */
export async function openRegularFile(file: string): Promise<FileHandle> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (stat.isFile()) return handle;
    if (stat.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The one wording of malformed JSON, whichever command reads it. */
export const malformedJson = (file: string, detail: string): InputError => new InputError(`${file}: malformed JSON: ${detail}`);

/** Reads and parses a JSON file; every problem is an InputError worded as above (exit 2 or 1). */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  let handle: FileHandle | undefined;
  try {
    handle = await openRegularFile(file);
    text = await readFile(handle, 'utf8');
  } catch (error) {
    const problem = fileProblem(file, error);
    throw new InputError(problem.message, problem.code);
  } finally {
    await handle?.close();
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw malformedJson(file, (error as Error).message);
  }
}

/**
 * An error's message for the terminal. Layers that each name the URL they failed on
 * (`<url>: POST <url>: connect ECONNREFUSED`) are collapsed to one mention.
 */
export function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const seen = new Set<string>();
  return message.replace(/(\b(?:GET|HEAD|POST|PUT|DELETE) )?(https?:\/\/[^\s'"]*[^\s'":,.)])(: )?/g, (whole, _method, url: string) => {
    if (!seen.has(url)) {
      seen.add(url);
      return whole;
    }
    return '';
  });
}

/**
 * `dm-agent diff … | head`: the reader went away. That is the reader's choice, not an error: stop
 * quietly (exit 0) instead of dying on an unhandled EPIPE with a stack trace.
 */
export function quietOnClosedPipe(stream: NodeJS.WriteStream, exit: (code: number) => void = (code) => process.exit(code)): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') exit(EXIT_OK);
    else throw error;
  });
}

/** Parses options with the shared parser (cli/spec.ts) for commands that list names only. */
export function parseOptions(args: string[], flags: readonly string[], valued: readonly string[]): { positional: string[]; options: Record<string, string | true>; unknown: string[] } {
  const { positional, options, problems } = parseArgsOf([...flags.map((name) => ({ name, help: '' })), ...valued.map((name) => ({ name, value: 'VALUE', help: '' }))], args);
  return { positional, options, unknown: problems };
}

/** Resolves on SIGINT, SIGTERM or when `signal` aborts (tests), whichever comes first; removes its listeners. */
export function untilStopped(signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop, { once: true });
  });
}
