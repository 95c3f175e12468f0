/** Shared suite: the `exec` facet (exit codes, output tail, timeouts, environment). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../../hal/errors.ts';
import type { ExecOptions } from '../../../hal/types.ts';
import type { HalFixture, HalTarget } from './fixture.ts';
import { expectFailure } from './helpers.ts';

export function describeExecSuite(fixture: HalFixture): void {
  describe(`exec (${fixture.name})`, () => {
    let target: HalTarget;
    const { programs } = fixture;
    beforeEach(async () => {
      target = await fixture.create();
    });
    afterEach(() => target.dispose());

    it('reports exit code 0 and the output', async () => {
      const result = await target.device.exec.run({ ...programs.exit(0, 'installed ok'), timeoutMs: 20_000 });
      expect(result).toMatchObject({ exitCode: 0, timedOut: false, output: 'installed ok' });
      expect(result.signal).toBeUndefined();
      expect(result.durationMs).toBeGreaterThanOrEqual(0);
    });

    it('reports a failing exit code with stderr in the output', async () => {
      const result = await target.device.exec.run({ ...programs.exitStderr(3, 'disk full'), timeoutMs: 20_000 });
      expect(result).toMatchObject({ exitCode: 3, timedOut: false, output: 'disk full' });
    });

    it('keeps only the tail of long output', async () => {
      const result = await target.device.exec.run({ ...programs.flood(50_000, '<END>'), timeoutMs: 20_000, outputLimit: 100 });
      expect(result.exitCode).toBe(0);
      expect(result.output).toHaveLength(100);
      expect(result.output.endsWith('xxxx<END>')).toBe(true);
      const none = await target.device.exec.run({ ...programs.flood(10, '!'), timeoutMs: 20_000, outputLimit: 0 });
      expect(none.output).toBe('');
    });

    it('times out a command that does not end', async () => {
      const run = target.device.exec.run({ ...programs.hang(), timeoutMs: 300 });
      await target.elapse(400);
      const result = await run;
      expect(result.timedOut).toBe(true);
      expect(result.exitCode).toBeUndefined();
      expect(result.durationMs).toBeGreaterThanOrEqual(299);
    });

    it('passes environment variables', async () => {
      const result = await target.device.exec.run({ ...programs.printEnv('DM_TEST_VALUE'), env: { DM_TEST_VALUE: 'v-42' }, timeoutMs: 20_000 });
      expect(result).toMatchObject({ exitCode: 0, output: 'v-42' });
    });

    it('a missing command gives exit code 127', async () => {
      const result = await target.device.exec.run({ ...programs.missing(), timeoutMs: 20_000 });
      expect(result).toMatchObject({ exitCode: 127, timedOut: false });
    });

    it('rejects invalid options', async () => {
      const good = { ...programs.exit(0, ''), timeoutMs: 1000 };
      const bad: unknown[] = [
        { ...good, command: '' },
        { ...good, timeoutMs: 0 },
        { ...good, timeoutMs: Number.NaN },
        { ...good, args: 'x' },
        { ...good, args: [1] },
        { ...good, env: { A: 1 } },
        { ...good, outputLimit: -1 },
        { ...good, shell: true },
        // NUL cannot cross into a C string: a typed error before anything runs, not a raw TypeError.
        { ...good, args: ['ok', 'a\0b'] },
        { ...good, env: { A: 'x\0y' } },
        { ...good, env: { 'A\0B': 'x' } },
        { ...good, env: { 'A=B': 'x' } },
        { ...good, env: { '': 'x' } },
        undefined,
      ];
      for (const options of bad) await expectFailure(() => target.device.exec.run(options as ExecOptions), InvalidOptionsError);
    });
  });
}
