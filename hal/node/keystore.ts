/**
 * The Node HAL's device key slot: `<workDir>/device-key`, created exclusively with mode 0600 (a
 * second boot never overwrites it), written to a temporary file and renamed so a crash leaves
 * either no key or a whole one. A key file readable by others is refused rather than used.
 */
import { chmod, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import type { SecretSlot } from '../shared/keystore.ts';

export const DEVICE_KEY_FILE = 'device-key';

export function fileSecretSlot(file: string): SecretSlot {
  return {
    async load() {
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      if (((await stat(file)).mode & 0o077) !== 0) throw new Error(`keystore: ${file} is readable by other users; refusing to use it`);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    async create(secret) {
      const temporary = `${file}.new`;
      await unlink(temporary).catch(() => undefined);
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(secret);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await chmod(temporary, 0o600);
      // rename would replace an existing key: check first (a concurrent creator is not a case: one agent per work dir)
      if (await stat(file).then(() => true, () => false)) {
        await unlink(temporary);
        throw new Error('keystore: a device key exists already');
      }
      await rename(temporary, file);
    },
  };
}
