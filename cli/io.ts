/** What every CLI command gets: output sinks, so commands are testable without spawning processes. */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export type Command = (args: string[], io: CommandIo) => Promise<number>;

/** Exit codes: 0 ok, 1 the operation failed, 2 bad usage or bad input. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Parses `--name value` and `--flag` options; everything else is positional. */
export function parseOptions(args: string[], flags: readonly string[], valued: readonly string[]): { positional: string[]; options: Record<string, string | true>; unknown: string[] } {
  const positional: string[] = [];
  const options: Record<string, string | true> = {};
  const unknown: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (flags.includes(name)) options[name] = true;
    else if (valued.includes(name)) {
      const value = inline ?? args[++i];
      if (value === undefined) unknown.push(`--${name} needs a value`);
      else options[name] = value;
    } else unknown.push(`unknown option --${name}`);
  }
  return { positional, options, unknown };
}

/** Why a file could not be read, in words (not-found, directory and permission problems named). */
export function fileErrorReason(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}

/** Not-found, directory and permission problems are bad input (exit 2); other I/O errors fail (1). */
export function fileProblem(file: string, error: unknown): { message: string; code: number } {
  const code = (error as { code?: string }).code;
  const badPath = code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES' || code === 'EPERM';
  return { message: `${file}: cannot read: ${fileErrorReason(error)}`, code: badPath ? EXIT_USAGE : EXIT_FAILED };
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
