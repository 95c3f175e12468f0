/**
 * WebAssembly for the Node HAL: module bytes come from `<wasmDirectory>/<name>.wasm`, by default
 * `<package root>/dist/wasm`. The package root is found by walking up from this module to the
 * package.json named dm-agent, which works both from the sources (hal/node/) and from the
 * esbuild bundle (dist/cli.js), where relative paths to hal/ no longer exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidOptionsError, NotFoundError } from '../errors.ts';
import type { WasmHost } from '../types.ts';

const PACKAGE_NAME = 'dm-agent';

interface WebAssemblyGlobal {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
}

export function findPackageRoot(start: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let directory = start; ; directory = dirname(directory)) {
    const manifest = join(directory, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return directory;
      } catch {
        // Unreadable manifest: keep walking.
      }
    }
    if (dirname(directory) === directory) return undefined;
  }
}

export function createNodeWasmHost(wasmDirectory?: string): WasmHost {
  let directory = wasmDirectory;
  return {
    async moduleBytes(name: string): Promise<Uint8Array> {
      if (typeof name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(name)) throw new InvalidOptionsError('moduleBytes: name must be [A-Za-z0-9_-]+');
      if (directory === undefined) {
        const root = findPackageRoot();
        if (root === undefined) throw new NotFoundError(`wasm module ${name} (no ${PACKAGE_NAME} package root found)`);
        directory = join(root, 'dist', 'wasm');
      }
      try {
        const bytes = await readFile(join(directory, `${name}.wasm`));
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') throw new NotFoundError(`wasm module ${join(directory, `${name}.wasm`)}`);
        throw error;
      }
    },
    async instantiate(bytes: Uint8Array, imports: Record<string, Record<string, unknown>>): Promise<Record<string, unknown>> {
      if (!(bytes instanceof Uint8Array)) throw new InvalidOptionsError('instantiate: bytes must be a Uint8Array');
      // lib is ES2022 without DOM, so WebAssembly is not typed here; Node has it at runtime.
      const wasm = (globalThis as unknown as { WebAssembly?: WebAssemblyGlobal }).WebAssembly;
      if (!wasm) throw new NotFoundError('WebAssembly in this runtime');
      const { instance } = await wasm.instantiate(bytes, imports);
      return instance.exports;
    },
  };
}
