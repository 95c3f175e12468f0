/**
 * The accounts whose credentials the update service accepts from outside the firewall (seed 002:
 * "a user name and password of a valid user account"). A users file holds no passwords, only
 * scrypt hashes:
 *
 *     { "users": { "alice": "scrypt$16384$8$1$<salt base64>$<hash base64>" } }
 *
 * `hashPassword` makes such a line (`dm-agent updates-server --hash-password` reads one from stdin).
 * Verification compares in constant time, and an unknown user costs the same scrypt run as a
 * known one, so timing tells neither the password nor whether the account exists. Nothing here
 * puts a password or a hash into an error message or a log line.
 *
 * Why a cache: scrypt costs 50–200 ms of CPU, and a device outside sends its credentials with
 * every request (a check, then each Range request of the download). Credentials that verified are
 * remembered for a few minutes as an HMAC under a per-process random key — never the password —
 * so a device's next requests cost one HMAC. Failures are never cached.
 */
import { createHmac, randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Credentials } from '../../agent/firmware/messages.ts';

const HASH_BYTES = 32;
const MAX_USERS = 100_000;
const CACHE_TTL_MS = 5 * 60_000;
const CACHE_ENTRIES = 4096;

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

interface StoredHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

export class UsersFileError extends Error {
  readonly code = 'badUsersFile';
  constructor(message: string) {
    super(message);
    this.name = 'UsersFileError';
  }
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password, salt, HASH_BYTES, { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** A users-file line for `password`. The default cost (N = 16384) takes ~50 ms; tests pass a lower N. */
export async function hashPassword(password: string, params: Partial<ScryptParams> = {}): Promise<string> {
  const full = { N: params.N ?? 16384, r: params.r ?? 8, p: params.p ?? 1 };
  const salt = randomBytes(16);
  const hash = await derive(password, salt, full);
  return `scrypt$${full.N}$${full.r}$${full.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

function parseHash(text: unknown, user: string): StoredHash {
  const parts = typeof text === 'string' ? text.split('$') : [];
  const [scheme, n, r, p, salt, hash] = parts;
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  const valid =
    parts.length === 6 &&
    scheme === 'scrypt' &&
    Number.isInteger(N) && N >= 2 && N <= 1 << 20 && (N & (N - 1)) === 0 &&
    Number.isInteger(R) && R >= 1 && R <= 32 &&
    Number.isInteger(P) && P >= 1 && P <= 16 &&
    /^[A-Za-z0-9+/]{16,}={0,2}$/.test(salt ?? '') &&
    /^[A-Za-z0-9+/]+={0,2}$/.test(hash ?? '');
  if (!valid) throw new UsersFileError(`users.${user}: expected "scrypt$N$r$p$<salt>$<hash>" (make one with --hash-password)`);
  const decoded = Buffer.from(hash!, 'base64');
  if (decoded.length !== HASH_BYTES) throw new UsersFileError(`users.${user}: the hash must be ${HASH_BYTES} bytes`);
  return { N, r: R, p: P, salt: Buffer.from(salt!, 'base64'), hash: decoded };
}

export class Users {
  readonly #users: Map<string, StoredHash>;
  /** What an unknown user is checked against: the same work as a real account, never a match. */
  readonly #decoy: StoredHash;
  readonly #cacheKey = randomBytes(32);
  /** HMAC of accepted `<user length>:user:password` (unambiguous) → expiry (host ms). Insertion order doubles as age order. */
  readonly #accepted = new Map<string, number>();
  /** scrypt runs so far (tests check that the cache saves them). */
  derivations = 0;
  now: () => number = Date.now;

  private constructor(users: Map<string, StoredHash>) {
    this.#users = users;
    const first = users.values().next().value as StoredHash | undefined;
    this.#decoy = { N: first?.N ?? 16384, r: first?.r ?? 8, p: first?.p ?? 1, salt: randomBytes(16), hash: randomBytes(HASH_BYTES) };
  }

  static parse(json: unknown): Users {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UsersFileError('expected an object {"users": {...}}');
    const keys = Object.keys(json);
    if (keys.length !== 1 || keys[0] !== 'users') throw new UsersFileError('expected exactly one key, "users"');
    const users = (json as { users: unknown }).users;
    if (typeof users !== 'object' || users === null || Array.isArray(users)) throw new UsersFileError('users: expected a map of user name to hash');
    const entries = Object.entries(users);
    if (entries.length > MAX_USERS) throw new UsersFileError(`users: more than ${MAX_USERS}`);
    const map = new Map<string, StoredHash>();
    for (const [user, text] of entries) {
      if (user.length === 0 || user.length > 256 || user.includes(':') || /[\x00-\x1f\x7f]/.test(user))
        throw new UsersFileError(`users: user names must be 1..256 characters without ":" or control characters`);
      map.set(user, parseHash(text, user));
    }
    return new Users(map);
  }

  static async read(file: string): Promise<Users> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsersFileError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // JSON.parse messages quote the text around the error: that could be a hash.
      throw new UsersFileError(`${file}: not JSON`);
    }
    try {
      return Users.parse(json);
    } catch (error) {
      if (error instanceof UsersFileError) throw new UsersFileError(`${file}: ${error.message}`);
      throw error;
    }
  }

  get size(): number {
    return this.#users.size;
  }

  /** True only for a known user with the right password; constant-time in the password, and unknown users cost the same. */
  async verify(credentials: Credentials): Promise<boolean> {
    const key = createHmac('sha256', this.#cacheKey).update(`${credentials.user.length}:${credentials.user}:${credentials.password}`).digest('base64');
    const expires = this.#accepted.get(key);
    if (expires !== undefined && expires > this.now()) return true;
    this.#accepted.delete(key);
    const stored = this.#users.get(credentials.user);
    const against = stored ?? this.#decoy;
    this.derivations++;
    const derived = await derive(credentials.password, against.salt, against);
    const ok = timingSafeEqual(derived, against.hash) && stored !== undefined;
    if (ok) {
      if (this.#accepted.size >= CACHE_ENTRIES) this.#accepted.delete(this.#accepted.keys().next().value as string);
      this.#accepted.set(key, this.now() + CACHE_TTL_MS);
    }
    return ok;
  }
}
