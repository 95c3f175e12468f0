/**
 * How the host compiles the guest's code: the strip mode (./runtime-knobs.ts) and the module
 * loader that serves dist/agent.js and its chunks. With strip mode 'debug' no function keeps its
 * file name, which QuickJS needs to resolve an `import()`; the chunks' dynamic imports then go
 * through `__dmImport`, one small function compiled with its file name, and a module that still
 * calls `import(` some other way is compiled keeping its debug info ('source').
 */
import type { QuickJSContext, QuickJSRuntime } from 'quickjs-emscripten';
import { type GuestCode, normaliseModuleName, routeDynamicImports } from './bundle.ts';
import { QuickJsGuestError } from './errors.ts';
import type { RuntimeKnobs, StripMode } from './runtime-knobs.ts';

/**
 * Installs the module loader and the strip mode; returns `prepare`, which readies a module's
 * source for compilation under that mode. `onLoad` hears the name of every module served (which
 * chunks a cycle loaded is part of what the tests check).
 */
export function installLoader(runtime: QuickJSRuntime, vm: QuickJSContext, code: GuestCode, knobs: RuntimeKnobs | undefined, strip: StripMode, onLoad?: (name: string) => void): (name: string, source: string) => string {
  const routed = knobs !== undefined && strip === 'debug';
  const prepare = (name: string, source: string): string => {
    if (!routed) return source;
    const module = routeDynamicImports(name, source);
    // Read by QuickJS as it compiles, which the loader's caller does right after this returns.
    knobs.setStrip(module.rest ? 'source' : 'debug');
    return module.source;
  };
  runtime.setModuleLoader(
    (name) => {
      const source = code.module(name);
      if (source === undefined) return { error: new Error(`no module ${name}`) };
      onLoad?.(name);
      return prepare(name, source);
    },
    (base, requested) => normaliseModuleName(code, base, requested),
  );
  if (knobs) {
    // Checked in the mode that keeps file names: __dmImport is compiled in it.
    knobs.strip(strip === 'debug' ? 'source' : strip, vm);
    if (routed) {
      const defined = vm.evalCode('globalThis.__dmImport = (name) => import(name)', 'dm-import.js');
      if (defined.error) throw new QuickJsGuestError(`could not define __dmImport: ${JSON.stringify(vm.dump(defined.error))}`);
      defined.value.dispose();
      knobs.setStrip('debug');
    }
  }
  return prepare;
}
