/**
 * `dm-agent keys generate` and `dm-agent keys root`: the release keys and the root of trust.
 *
 *   keys generate --out DIR [--type ed25519|ecdsa] [--roles root,targets,snapshot,timestamp]
 *       one secret key file per role, DIR/<role>.key.json, mode 0600, never overwritten; prints
 *       only key ids. Keep root and targets keys offline; give a server only snapshot and timestamp.
 *   keys root --keys DIR --out METADIR [--sign-with FILE]... [--expires-days N] [--threshold N]
 *       signs the next root version (1.root.json first) naming DIR's four role keys. A rotation
 *       (version 2+) must also be signed by the previous root key: pass it with --sign-with.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyKind } from '../../agent/trust/keys.ts';
import type { SigningKey } from '../../agent/trust/signing.ts';
import type { RoleName } from '../../agent/trust/metadata.ts';
import { envelopeBytes, rootSigned, signEnvelope } from '../../agent/trust/repository.ts';
import { KEY_FILE_SUFFIX, latestRootVersion, readKey, writeNewKey, writeRoot } from '../../server/metadata.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, errorText } from '../io.ts';
import { type CommandSpec, parseArgs, usageError } from '../spec.ts';

const ROLES: readonly RoleName[] = ['root', 'targets', 'snapshot', 'timestamp'];
const DAY = 86_400_000;

export const spec: CommandSpec = {
  name: 'keys',
  summary: 'release keys and the root of trust: dm-agent keys generate --out DIR | keys root --keys DIR --out METADIR',
  args: 'generate|root',
  options: [
    { name: 'out', value: 'DIR', help: 'generate: where the key files go; root: the metadata directory' },
    { name: 'type', value: 'ed25519|ecdsa', help: 'generate: key type (default ed25519; ecdsa is P-256)' },
    { name: 'roles', value: 'LIST', help: 'generate: comma-separated roles (default root,targets,snapshot,timestamp)' },
    { name: 'keys', value: 'DIR', help: 'root: the directory with <role>.key.json for the four roles' },
    { name: 'sign-with', value: 'FILE', help: 'root: also sign with this key file (the previous root key, for a rotation)', repeatable: true },
    { name: 'expires-days', value: 'N', help: 'root: lifetime in days (default 365)' },
  ],
  notes: 'Secret key files are written with mode 0600 and never printed; only key ids are.',
};

export async function run(args: string[], io: CommandIo): Promise<number> {
  const { positional, options, problems } = parseArgs(spec.options, args);
  const action = positional[0];
  if (positional.length !== 1 || (action !== 'generate' && action !== 'root')) problems.push('expected generate or root');
  const type = options['type'] ?? 'ed25519';
  if (type !== 'ed25519' && type !== 'ecdsa') problems.push(`--type must be ed25519 or ecdsa, got ${String(type)}`);
  const roles = typeof options['roles'] === 'string' ? options['roles'].split(',') : [...ROLES];
  for (const role of roles) if (!ROLES.includes(role as RoleName)) problems.push(`unknown role ${role}`);
  const days = options['expires-days'] === undefined ? 365 : Number(options['expires-days']);
  if (!Number.isInteger(days) || days < 1 || days > 3650) problems.push('--expires-days must be 1..3650');
  if (typeof options['out'] !== 'string') problems.push('missing --out');
  if (action === 'root' && typeof options['keys'] !== 'string') problems.push('missing --keys');
  if (problems.length > 0) return usageError(io, spec, problems);
  const out = options['out'] as string;
  try {
    if (action === 'generate') {
      await mkdir(out, { recursive: true, mode: 0o700 });
      for (const role of roles) {
        const key = await writeNewKey(join(out, `${role}${KEY_FILE_SUFFIX}`), type === 'ecdsa' ? 'ecdsa-p256' : 'ed25519', newSecret(type === 'ecdsa' ? 'ecdsa-p256' : 'ed25519'));
        io.stdout(`${role}: ${key.keyid} (${join(out, `${role}${KEY_FILE_SUFFIX}`)})\n`);
      }
      return EXIT_OK;
    }
    const dir = options['keys'] as string;
    const keys = {} as Record<RoleName, SigningKey>;
    for (const role of ROLES) keys[role] = await readKey(join(dir, `${role}${KEY_FILE_SUFFIX}`));
    const extra = typeof options['sign-with'] === 'string' ? await Promise.all(options['sign-with'].split(',').map(readKey)) : [];
    const version = (await latestRootVersion(out)) + 1;
    const roleSpec = Object.fromEntries(ROLES.map((r) => [r, { keys: [{ keyid: keys[r].keyid, public: keys[r].public }], threshold: 1 }])) as Parameters<typeof rootSigned>[0]['roles'];
    const signers = [keys.root, ...extra.filter((k) => k.keyid !== keys.root.keyid)];
    await writeRoot(out, version, envelopeBytes(signEnvelope(rootSigned({ version, expiresMs: Date.now() + days * DAY, roles: roleSpec }), signers)));
    io.stdout(`${join(out, `${version}.root.json`)}: root version ${version}, signed by ${signers.length} key(s)${version > 1 && extra.length === 0 ? ' (no --sign-with: devices on the previous root will refuse it)' : ''}\n`);
    return EXIT_OK;
  } catch (error) {
    io.stderr(`dm-agent keys: ${errorText(error)}\n`);
    return EXIT_FAILED;
  }
}

function newSecret(kind: KeyKind): Uint8Array {
  // P-256 secrets must be below the group order; a random 32 bytes is above it with p ≈ 2^-32.
  for (;;) {
    const secret = new Uint8Array(randomBytes(32));
    if (kind === 'ed25519' || secret[0] !== 0xff) return secret;
  }
}
