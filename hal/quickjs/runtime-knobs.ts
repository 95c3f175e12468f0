/**
 * A runtime setting of QuickJS that quickjs-emscripten does not export: the strip flags
 * (`JS_SetStripInfo`: compile without keeping each function's source text, or without any debug
 * info). A firmware build sets them from C (`qjsc -s`, `JS_SetStripInfo(rt, JS_STRIP_DEBUG)`);
 * here the host writes the `JSRuntime` field in the WebAssembly memory.
 *
 * The field is found, not assumed: by a pattern of its neighbours that only it matches in a
 * fresh runtime (quickjs.c of the pinned `@jitl/quickjs-wasmfile-release-sync`,
 * bellard 2025-09-13), and the strip flags are then checked by their effect (a probe function's
 * `toString()` loses its source). Any mismatch — another QuickJS build — throws
 * `QuickJsGuestError` instead of writing anywhere else.
 */
import type { QuickJSContext, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten';
import { QuickJsGuestError } from './errors.ts';

/** What the guest's compiler keeps: everything, everything but source text, or no debug info at all (no line numbers in stacks either). */
export type StripMode = 'none' | 'source' | 'debug';

const STRIP_FLAGS: Record<StripMode, number> = { none: 0, source: 1 /* JS_STRIP_SOURCE */, debug: 2 /* JS_STRIP_DEBUG */ };
/** How far into `JSRuntime` the field is looked for (the struct is a few hundred bytes on wasm32). */
const SCAN_BYTES = 1024;

export class RuntimeKnobs {
  private constructor(
    private readonly memory: ReturnType<QuickJSWASMModule['getWasmMemory']>,
    private readonly stripAt: number,
  ) {}

  /** Finds the field in a runtime that nothing has run in yet (`newRuntime()` just returned). */
  static locate(module: QuickJSWASMModule, runtime: QuickJSRuntime): RuntimeKnobs {
    const memory = module.getWasmMemory();
    // The pointer is a protected member of QuickJSRuntime; quickjs-emscripten offers no getter.
    const base = (runtime as unknown as { rt: { value: number } }).rt.value;
    const span = Math.min(SCAN_BYTES, memory.buffer.byteLength - base);
    const view = new DataView(memory.buffer, base, span);
    const u32 = (offset: number) => view.getUint32(offset, true);
    const stripHits: number[] = [];
    for (let at = 16; at + 20 <= span; at += 4) {
      // The zeroed JSSharedArrayBufferFunctions (4 words), uint8_t strip_flags (0) padded to a
      // word, then the shape hash table: bits, size = 1 << bits, count <= size, its pointer.
      if ([at - 16, at - 12, at - 8, at - 4, at].every((o) => u32(o) === 0)) {
        const bits = u32(at + 4);
        if (bits >= 1 && bits < 24 && u32(at + 8) === 2 ** bits && u32(at + 12) <= 2 ** bits && u32(at + 16) !== 0) stripHits.push(at);
      }
    }
    if (stripHits.length !== 1) {
      throw new QuickJsGuestError(`this QuickJS build's runtime layout is not the one the host knows (strip flags found ${stripHits.length} times): pass strip 'none'`);
    }
    return new RuntimeKnobs(memory, base + stripHits[0]!);
  }

  /** Sets the strip flags for everything compiled from now on (QuickJS reads them as it compiles each function). */
  setStrip(mode: StripMode): void {
    new Uint8Array(this.memory.buffer)[this.stripAt] = STRIP_FLAGS[mode];
  }

  /** Sets the strip flags and checks that the compiler obeys them (a probe function keeps its source only with 'none'). */
  strip(mode: StripMode, vm: QuickJSContext): void {
    this.setStrip(mode);
    const probe = vm.evalCode('(function probe(a) { return a + 1 }).toString()', 'probe.js');
    const text = probe.error ? undefined : vm.dump(probe.value);
    (probe.error ?? probe.value).dispose();
    const kept = typeof text === 'string' && text.includes('return a + 1');
    if (kept !== (mode === 'none')) {
      this.setStrip('none');
      throw new QuickJsGuestError(`QuickJS did not take the strip mode '${mode}' (probe: ${JSON.stringify(text)})`);
    }
  }
}
