/**
 * A WasmHost for Node (tests, benchmarks, CLI): module bytes from `dist/wasm/<name>.wasm` of this
 * checkout, instantiation through the WebAssembly global. Node-only, so it lives outside the
 * portable set that agent/tsconfig.json checks.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { WasmHost } from '../hal/types.ts';

interface WebAssemblyLike {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
}

export const DEFAULT_WASM_DIRECTORY = fileURLToPath(new URL('../dist/wasm/', import.meta.url));

export interface NodeWasmHostOptions {
  /** Where `<name>.wasm` files live; default dist/wasm of this checkout. */
  directory?: string;
  /** Module names to refuse, as a host without them would (tests: e.g. ['hash'] forces hash-scalar). */
  unavailable?: readonly string[];
}

export function createNodeWasmHost(options: NodeWasmHostOptions = {}): WasmHost {
  const directory = options.directory ?? DEFAULT_WASM_DIRECTORY;
  return {
    async moduleBytes(name: string): Promise<Uint8Array> {
      if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`invalid wasm module name: ${name}`);
      if (options.unavailable?.includes(name)) throw new Error(`wasm module ${name} unavailable on this host`);
      const bytes = await readFile(`${directory.replace(/\/?$/, '/')}${name}.wasm`);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    async instantiate(bytes: Uint8Array, imports: Record<string, Record<string, unknown>>): Promise<Record<string, unknown>> {
      const wasm = (globalThis as unknown as { WebAssembly?: WebAssemblyLike }).WebAssembly;
      if (!wasm) throw new Error('WebAssembly is not available in this runtime');
      const { instance } = await wasm.instantiate(bytes, imports);
      return instance.exports;
    },
  };
}
