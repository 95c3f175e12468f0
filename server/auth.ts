/**
 * Credentials of the reference servers, shared by every server under `server/` (the manager's
 * `/api/*` admin token and its manager ↔ manager secret; the update service's admin routes):
 *
 *   - a secret is 32 random bytes, base64url (43 characters), kept in a file of mode 0600;
 *   - `loadOrCreateSecretFile` creates that file on first start (O_EXCL, 0600) and says whether it
 *     did, so the caller prints the secret exactly once; later starts only read it;
 *   - `readSecretFile` reads an operator-provided file (`--admin-token-file`), refusing one that
 *     group or others can read, like ssh does with keys;
 *   - requests carry it as `Authorization: Bearer <secret>`; `checkBearer` compares in constant
 *     time (both sides hashed first, so not even the length leaks) and throws a typed `AuthError`.
 *
 * No message here ever contains a secret, only the file it came from. Node-only (server side).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Shortest secret accepted from a file or an option: below this, guessing is cheap. */
export const MIN_SECRET_LENGTH = 16;
/** Longest: a secret is one line, not a document. */
export const MAX_SECRET_LENGTH = 1024;
/** Printable ASCII without spaces: what survives a header, a shell and a copy-paste. */
const SECRET_PATTERN = /^[\x21-\x7e]+$/;

/** A request without the right credential. `status` 401: missing or wrong (with `WWW-Authenticate`). */
export class AuthError extends Error {
  readonly status = 401;
  readonly code: 'unauthorized';
  readonly headers: Record<string, string>;
  constructor(message: string, realm: string) {
    super(message);
    this.name = 'AuthError';
    this.code = 'unauthorized';
    this.headers = { 'www-authenticate': `Bearer realm="${realm}"` };
  }
}

/** A secret file that cannot be used (missing, unreadable, too open, malformed). Names the file, never its content. */
export class SecretFileError extends Error {
  readonly code = 'badSecretFile';
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'SecretFileError';
    this.file = file;
  }
}

/** 32 random bytes, base64url. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Why a string cannot be a secret, or undefined if it can. */
export function secretProblem(secret: unknown): string | undefined {
  if (typeof secret !== 'string') return 'must be a string';
  if (secret.length < MIN_SECRET_LENGTH) return `must be at least ${MIN_SECRET_LENGTH} characters`;
  if (secret.length > MAX_SECRET_LENGTH) return `must be at most ${MAX_SECRET_LENGTH} characters`;
  if (!SECRET_PATTERN.test(secret)) return 'must be printable ASCII without spaces';
  return undefined;
}

/** Constant-time comparison: both sides are hashed to 32 bytes, so length differences take the same time too. */
export function secretsEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b) && presented.length === expected.length;
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or undefined. */
export function bearerToken(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers.authorization;
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (typeof value !== 'string') return undefined;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(value);
  return match ? match[1] : undefined;
}

/** Throws `AuthError` unless the request carries `expected` as its bearer token. `what` names the credential in the message. */
export function checkBearer(headers: Record<string, string | string[] | undefined>, expected: string, realm: string, what = 'admin token'): void {
  const presented = bearerToken(headers);
  if (presented === undefined) throw new AuthError(`this route needs the ${what}: send "Authorization: Bearer <token>"`, realm);
  if (!secretsEqual(presented, expected)) throw new AuthError(`wrong ${what}`, realm);
}

/** The header value that `checkBearer` accepts. */
export function bearerHeader(secret: string): { authorization: string } {
  return { authorization: `Bearer ${secret}` };
}

/** Reads a secret from a file the operator made: first line, trimmed; the file must not be readable by group or others. */
export function readSecretFile(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY);
  } catch (error) {
    throw new SecretFileError(file, `cannot open: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new SecretFileError(file, 'not a regular file');
    if ((stat.mode & 0o077) !== 0) throw new SecretFileError(file, `readable by group or others (mode ${(stat.mode & 0o777).toString(8)}): chmod 600 it`);
    if (stat.size > MAX_SECRET_LENGTH + 2) throw new SecretFileError(file, `too large for a secret (${stat.size} bytes)`);
    const secret = readFileSync(fd, 'utf8').split('\n')[0]!.trim();
    const problem = secretProblem(secret);
    if (problem !== undefined) throw new SecretFileError(file, `the secret ${problem}`);
    return secret;
  } finally {
    closeSync(fd);
  }
}

/**
 * The secret in `file`, created (mode 0600, exclusively: two starting servers cannot both create
 * it) with a fresh random secret if it does not exist. `created` tells the caller to show it once.
 */
export function loadOrCreateSecretFile(file: string): { secret: string; created: boolean } {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const secret = generateSecret();
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { secret: readSecretFile(file), created: false };
    throw new SecretFileError(file, `cannot create: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    writeSync(fd, `${secret}\n`);
  } finally {
    closeSync(fd);
  }
  return { secret, created: true };
}
