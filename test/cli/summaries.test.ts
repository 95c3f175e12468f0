/**
 * `dm-agent --help` lists commands from cli/summaries.ts without loading their modules (issue 12:
 * reading each module's `spec.summary` loaded every command, mqtt and the OMA DM server included).
 * Each line there must be the command's own `spec.summary`, and the listing must import no command
 * module and no heavy package: checked in a child process through a module-load hook.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, usage } from '../../cli/main.ts';
import { SUMMARIES } from '../../cli/summaries.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** The files a child process loads (ESM load hook, which also sees the entry of a CommonJS package) while running `main(args)`. */
export function modulesLoadedBy(args: string[]): string[] {
  const hook = `import { writeSync } from 'node:fs'; export async function load(url, context, next) { writeSync(2, 'LOADED ' + url + '\\n'); return next(url, context); }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
  const script = `import(${JSON.stringify(join(ROOT, 'cli', 'main.ts'))}).then((m) => m.main(${JSON.stringify(args)}, { stdout() {}, stderr() {} }));`;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(register)}`, '-e', script], { cwd: ROOT, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return result.stderr
    .split('\n')
    .filter((line) => line.startsWith('LOADED file:'))
    .map((line) => line.slice('LOADED '.length));
}

describe('cli/summaries.ts', () => {
  it('has exactly one line per command, equal to its spec.summary and name', async () => {
    expect(Object.keys(SUMMARIES).sort()).toEqual(Object.keys(COMMANDS).sort());
    for (const [name, load] of Object.entries(COMMANDS)) {
      const { spec } = await load();
      expect(spec.name).toBe(name);
      expect(SUMMARIES[name], name).toBe(spec.summary);
    }
  });

  it('usage() lists every command with its summary', async () => {
    const text = await usage();
    for (const [name, summary] of Object.entries(SUMMARIES)) expect(text).toMatch(new RegExp(`^  ${name} +${summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  });

  it('dm-agent --help loads no command module, nor mqtt, cbor-x or @noble', () => {
    const loaded = modulesLoadedBy(['--help']);
    expect(loaded.some((url) => url.endsWith('/cli/main.ts'))).toBe(true); // the hook sees the loads
    expect(loaded.filter((url) => /\/cli\/commands\/|\/node_modules\/(mqtt|cbor-x|@noble)\//.test(url))).toEqual([]);
  });
});
