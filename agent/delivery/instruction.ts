/**
 * Seed 000 only: the download instruction must describe the package the list asked for. An
 * IO-free check like the pipeline's (../pipeline/verify.ts), but about this family's two answers,
 * so it lives with the family.
 */
import { VerificationError, isByteCount, isSha256Hex, printable } from '../pipeline/verify.ts';

export interface InstructionFacts {
  name: string;
  version: string;
  size: number;
  digest: string;
}

export interface ListedPackage {
  name: string;
  version: string;
  digest: string;
  size?: number;
}

/**
 * The download instruction describes the package the list asked for. The two come from separate
 * server answers; if they disagree the server is inconsistent or hostile and the device must not
 * pick either side, so every field is compared (digests as hex, case-insensitively).
 */
export function checkInstruction(instruction: InstructionFacts, listed: ListedPackage): void {
  if (instruction.name !== listed.name) throw mismatch('name', instruction.name, listed.name);
  if (instruction.version !== listed.version) throw mismatch('version', instruction.version, listed.version);
  if (!isSha256Hex(instruction.digest)) throw new VerificationError('mismatch', `instruction digest for ${listed.name} is not a SHA-256 hex digest`);
  if (!isSha256Hex(listed.digest)) throw new VerificationError('mismatch', `package list digest for ${listed.name} is not a SHA-256 hex digest`);
  if (instruction.digest.toLowerCase() !== listed.digest.toLowerCase()) throw mismatch('digest', instruction.digest, listed.digest);
  if (!isByteCount(instruction.size)) throw new VerificationError('mismatch', `instruction size for ${listed.name} is not a byte count`);
  if (listed.size !== undefined && instruction.size !== listed.size) throw mismatch('size', String(instruction.size), String(listed.size));

  function mismatch(field: string, got: string, want: string): VerificationError {
    return new VerificationError('mismatch', `instruction ${field} ${printable(got)} disagrees with the package list (${printable(want)}) for ${printable(listed.name)}`);
  }
}
